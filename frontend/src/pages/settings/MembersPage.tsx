import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Role } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { atLeast, ROLE_ORDER as ROLES } from "../../lib/roles";
import "./settings.css";

export const ROLE_TEXT: Record<Role, string> = {
  viewer: "reads everything",
  reviewer: "also reviews",
  maintainer: "also launches runs, manages teachers, rubrics and labels",
  owner: "also manages members and the project",
};

/** The project's members and roles; owners add, change and remove them (the API allows only owners). */
export function MembersPage({ projectId }: { projectId: number }) {
  const qc = useQueryClient();
  const path = { project_id: projectId };
  const project = useQuery({
    queryKey: ["project", projectId],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}", { params: { path } })),
  });
  const me = useQuery({ queryKey: ["me"], queryFn: () => unwrap(api.GET("/api/users/me")) });
  const members = useQuery({
    queryKey: ["members", projectId],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/members", { params: { path } })),
  });
  const isOwner = atLeast(project.data?.role, "owner");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("reviewer");
  const [error, setError] = useState<string | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ["members", projectId] });
  const fail = (e: unknown) => setError(errorMessage(e));

  const add = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/members", { params: { path }, body: { email, role } })),
    onMutate: () => setError(null),
    onSuccess: () => {
      setEmail("");
      refresh();
    },
    onError: fail,
  });
  const change = useMutation({
    mutationFn: (v: { userId: number; role: Role }) =>
      unwrap(
        api.PATCH("/api/projects/{project_id}/members/{user_id}", {
          params: { path: { ...path, user_id: v.userId } },
          body: { role: v.role },
        }),
      ),
    onMutate: () => setError(null),
    onSuccess: refresh,
    onError: fail,
  });
  const remove = useMutation({
    mutationFn: (userId: number) =>
      unwrap(api.DELETE("/api/projects/{project_id}/members/{user_id}", { params: { path: { ...path, user_id: userId } } })),
    onMutate: () => setError(null),
    onSuccess: refresh,
    onError: fail,
  });

  return (
    <div data-testid="members-page">
      <h1>Members</h1>
      {(members.isError || project.isError) && (
        <p className="error" role="alert">
          {errorMessage(members.error ?? project.error)}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="member-error">
          {error}
        </p>
      )}
      {isOwner && (
        <form
          className="card inline-form"
          data-testid="member-add"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <label className="grow">
            Email of a registered user
            <input
              type="email"
              data-testid="member-email"
              value={email}
              required
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label>
            Role
            <select data-testid="member-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={add.isPending} data-testid="member-submit">
            {add.isPending ? "Adding…" : "Add member"}
          </button>
        </form>
      )}
      <div className="card">
        <table className="table" data-testid="members-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              {isOwner && <th />}
            </tr>
          </thead>
          <tbody>
            {members.data?.map((m) => (
              <tr key={m.user_id} data-testid="member-row" data-user-id={m.user_id}>
                <td>
                  {m.name}
                  {me.data?.id === m.user_id && <span className="muted small"> (you)</span>}
                </td>
                <td>{m.email}</td>
                <td>
                  {isOwner ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      data-testid="member-role-select"
                      value={m.role}
                      disabled={change.isPending}
                      onChange={(e) => change.mutate({ userId: m.user_id, role: e.target.value as Role })}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span className={`role role-${m.role}`}>{m.role}</span>
                  )}
                  <div className="small muted">{ROLE_TEXT[m.role]}</div>
                </td>
                {isOwner && (
                  <td>
                    <button
                      type="button"
                      className="danger"
                      disabled={remove.isPending}
                      onClick={() => {
                        if (window.confirm(`Remove ${m.email} from the project?`)) remove.mutate(m.user_id);
                      }}
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
