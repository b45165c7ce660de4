import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { formatTime } from "../../lib/format";
import { keys, meQuery, usersQuery } from "../../api/queries";
import "./settings.css";

/** The link an invitee or a user who lost their password opens (ResetPasswordPage); the token goes in
 * the fragment, which is never sent to a server, so no access log holds it. */
export function resetLink(token: string): string {
  return `${window.location.origin}/reset-password#${encodeURIComponent(token)}`;
}

interface Issued {
  email: string;
  token: string;
  expires: string | null | undefined;
  why: "invited" | "reset";
}

/**
 * Accounts, for administrators (the API answers 403 to anyone else): create one with a password, or
 * invite it (no password: a one-time link, shown once, with which the invitee sets one), deactivate and
 * reactivate (a deactivated account's tokens stop at once), grant or withdraw administrator rights, and
 * reset a password (set a new one, or hand out a one-time reset link).
 */
export function UsersPage() {
  const qc = useQueryClient();
  const me = useQuery(meQuery());
  const isAdmin = me.data?.is_admin === true;
  const users = useQuery({ ...usersQuery(), enabled: isAdmin });
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [issued, setIssued] = useState<Issued | null>(null);
  const [passwordFor, setPasswordFor] = useState<number | null>(null);
  const [newPassword, setNewPassword] = useState("");
  const refresh = () => qc.invalidateQueries({ queryKey: keys.users() });
  const begin = () => {
    setError(null);
    setNote(null);
    setIssued(null);
  };
  const fail = (e: unknown) => setError(errorMessage(e));

  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/users", {
          body: { email, name, is_admin: admin, ...(password ? { password } : {}) },
        }),
      ),
    onMutate: begin,
    onSuccess: (u) => {
      setEmail("");
      setName("");
      setPassword("");
      setAdmin(false);
      if (u.reset_token) setIssued({ email: u.email, token: u.reset_token, expires: u.reset_expires_at, why: "invited" });
      else setNote(`Created ${u.email}; they can sign in with the password you set.`);
      void refresh();
    },
    onError: fail,
  });
  const update = useMutation({
    mutationFn: (v: { id: number; body: { is_active?: boolean; is_admin?: boolean } }) =>
      unwrap(api.PATCH("/api/users/{user_id}", { params: { path: { user_id: v.id } }, body: v.body })),
    onMutate: begin,
    onSuccess: () => void refresh(),
    onError: fail,
  });
  const reset = useMutation({
    mutationFn: (v: { id: number; email: string; password?: string }) =>
      unwrap(
        api.POST("/api/users/{user_id}/password", {
          params: { path: { user_id: v.id } },
          body: v.password ? { password: v.password } : {},
        }),
      ).then((out) => ({ ...out, email: v.email })),
    onMutate: begin,
    onSuccess: (out) => {
      setPasswordFor(null);
      setNewPassword("");
      if (out.reset_token)
        setIssued({ email: out.email, token: out.reset_token, expires: out.reset_expires_at, why: "reset" });
      else setNote(`New password set for ${out.email}; their sessions have ended.`);
    },
    onError: fail,
  });
  const busy = update.isPending || reset.isPending;

  if (me.data && !isAdmin) {
    return (
      <div data-testid="users-page">
        <h1>Users</h1>
        <p className="muted" data-testid="users-not-admin">
          Only administrators manage accounts.
        </p>
      </div>
    );
  }

  return (
    <div data-testid="users-page">
      <h1>Users</h1>
      {users.isError && (
        <p className="error" role="alert">
          {errorMessage(users.error)}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="users-error">
          {error}
        </p>
      )}
      {note && (
        <p className="muted" role="status" data-testid="users-note">
          {note}
        </p>
      )}
      {issued && (
        <div className="card" role="status" data-testid="reset-link">
          <p>
            {issued.why === "invited" ? `Invited ${issued.email}.` : `Reset link for ${issued.email}.`} Send them this
            link; it is shown only now, works once
            {issued.expires ? ` and until ${formatTime(issued.expires)}` : ""}:
          </p>
          <input readOnly aria-label="One-time link" value={resetLink(issued.token)} onFocus={(e) => e.target.select()} />
        </div>
      )}
      <form
        className="card inline-form"
        data-testid="user-create"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label className="grow">
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="user-email" />
        </label>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="user-name" />
        </label>
        <label>
          Password (empty: invite)
          <input
            type="password"
            autoComplete="new-password"
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="user-password"
          />
        </label>
        <label className="settings-check">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} data-testid="user-admin" />
          Administrator
        </label>
        <button type="submit" disabled={create.isPending} data-testid="user-submit">
          {password ? "Create" : "Invite"}
        </button>
      </form>
      <div className="card">
        <table className="table" data-testid="users-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Status</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => (
              <tr key={u.id} data-testid="user-row" data-user-id={u.id} className={u.is_active ? undefined : "muted"}>
                <td>
                  {u.name}
                  {me.data?.id === u.id && <span className="muted small"> (you)</span>}
                </td>
                <td>{u.email}</td>
                <td>
                  {u.is_active ? "active" : "deactivated"}
                  {u.is_admin && <span className="role role-owner"> admin</span>}
                </td>
                <td className="nowrap">{formatTime(u.created_at)}</td>
                <td className="nowrap">
                  <button
                    type="button"
                    className={u.is_active ? "danger" : undefined}
                    disabled={busy}
                    onClick={() => {
                      if (!u.is_active || window.confirm(`Deactivate ${u.email}? Their sessions and tokens stop at once.`))
                        update.mutate({ id: u.id, body: { is_active: !u.is_active } });
                    }}
                  >
                    {u.is_active ? "Deactivate" : "Reactivate"}
                  </button>{" "}
                  <button type="button" disabled={busy} onClick={() => update.mutate({ id: u.id, body: { is_admin: !u.is_admin } })}>
                    {u.is_admin ? "Remove admin" : "Make admin"}
                  </button>{" "}
                  {u.is_active && (
                    <>
                      <button type="button" disabled={busy} onClick={() => reset.mutate({ id: u.id, email: u.email })}>
                        Reset link
                      </button>{" "}
                      <button type="button" disabled={busy} onClick={() => setPasswordFor(passwordFor === u.id ? null : u.id)}>
                        Set password
                      </button>
                    </>
                  )}
                  {passwordFor === u.id && (
                    <form
                      className="inline-form"
                      data-testid="set-password"
                      onSubmit={(e) => {
                        e.preventDefault();
                        reset.mutate({ id: u.id, email: u.email, password: newPassword });
                      }}
                    >
                      <input
                        type="password"
                        aria-label={`New password for ${u.email}`}
                        autoComplete="new-password"
                        required
                        minLength={8}
                        value={newPassword}
                        onChange={(e) => setNewPassword(e.target.value)}
                      />
                      <button type="submit" disabled={busy}>
                        Save
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
