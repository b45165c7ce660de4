import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Role } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { formatTime } from "../../lib/format";
import { atLeast, ROLE_ORDER as ROLES } from "../../lib/roles";
import "./settings.css";
import { invitationsQuery, keys, meQuery, membersQuery, projectQuery } from "../../api/queries";

export const ROLE_TEXT: Record<Role, string> = {
  viewer: "reads everything",
  reviewer: "also reviews",
  maintainer: "also launches runs, manages teachers, rubrics and labels",
  owner: "also manages members and the project",
};

/**
 * The project's members and roles; owners invite by e-mail, change roles and remove members, and see
 * and revoke pending invitations (the API allows only owners). An invitation's answer never says
 * whether the address has an account: the invitee joins by accepting it on their Projects page.
 */
export function MembersPage({ projectId }: { projectId: number }) {
  const qc = useQueryClient();
  const path = { project_id: projectId };
  const project = useQuery(projectQuery(projectId));
  const me = useQuery(meQuery());
  const members = useQuery(membersQuery(projectId));
  const isOwner = atLeast(project.data?.role, "owner");
  const invitations = useQuery({
    ...invitationsQuery(projectId),
    enabled: isOwner,
  });
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("reviewer");
  const [error, setError] = useState<string | null>(null);
  const [invited, setInvited] = useState<string | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: keys.members(projectId) });
  const refreshInvitations = () => qc.invalidateQueries({ queryKey: keys.invitations(projectId) });
  const fail = (e: unknown) => setError(errorMessage(e));

  const add = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/projects/{project_id}/invitations", { params: { path }, body: { email, role } })),
    onMutate: () => {
      setError(null);
      setInvited(null);
    },
    onSuccess: (inv) => {
      setEmail("");
      setInvited(inv.email);
      refreshInvitations();
    },
    onError: fail,
  });
  const revoke = useMutation({
    mutationFn: (invitationId: number) =>
      unwrap(
        api.DELETE("/api/projects/{project_id}/invitations/{invitation_id}", {
          params: { path: { ...path, invitation_id: invitationId } },
        }),
      ),
    onMutate: () => setError(null),
    onSuccess: refreshInvitations,
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
            Invite by email
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
            {add.isPending ? "Inviting…" : "Invite"}
          </button>
        </form>
      )}
      {invited && (
        <p className="muted" role="status" data-testid="member-invited">
          Invited {invited}. They join once they accept the invitation on their Projects page (after signing in
          or creating an account with that address).
        </p>
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
      {isOwner && (invitations.data?.length ?? 0) > 0 && (
        <div className="card">
          <h2>Pending invitations</h2>
          <table className="table" data-testid="invitations-table">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Sent</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {invitations.data?.map((inv) => (
                <tr key={inv.id} data-testid="invitation-row" data-invitation-id={inv.id}>
                  <td>{inv.email}</td>
                  <td>
                    <span className={`role role-${inv.role}`}>{inv.role}</span>
                  </td>
                  <td className="nowrap">{formatTime(inv.created_at)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      disabled={revoke.isPending}
                      onClick={() => {
                        if (window.confirm(`Revoke the invitation of ${inv.email}?`)) revoke.mutate(inv.id);
                      }}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
