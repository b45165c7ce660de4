import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { formatTime } from "../../lib/format";
import { keys, myInvitationsQuery } from "../../api/queries";

/**
 * Invitations to the logged-in user's address, to accept or decline. Nothing is shown when there are
 * none; a project appears in the user's list only once they accept.
 */
export function MyInvitations() {
  const qc = useQueryClient();
  const invitations = useQuery(myInvitationsQuery());
  const [error, setError] = useState<string | null>(null);
  const params = (id: number) => ({ params: { path: { invitation_id: id } } });
  const done = () => {
    void qc.invalidateQueries({ queryKey: keys.myInvitations() });
    void qc.invalidateQueries({ queryKey: keys.projects() });
  };
  const accept = useMutation({
    mutationFn: (id: number) => unwrap(api.POST("/api/invitations/{invitation_id}/accept", params(id))),
    onMutate: () => setError(null),
    onSuccess: done,
    onError: (e) => setError(errorMessage(e)),
  });
  const decline = useMutation({
    mutationFn: (id: number) => unwrap(api.POST("/api/invitations/{invitation_id}/decline", params(id))),
    onMutate: () => setError(null),
    onSuccess: done,
    onError: (e) => setError(errorMessage(e)),
  });
  const busy = accept.isPending || decline.isPending;
  if (!invitations.data?.length && !error) return null;

  return (
    <section className="card" data-testid="my-invitations">
      <h2>Invitations</h2>
      {error && (
        <p className="error" role="alert" data-testid="my-invitation-error">
          {error}
        </p>
      )}
      <table className="table">
        <thead>
          <tr>
            <th>Project</th>
            <th>Role</th>
            <th>Invited by</th>
            <th>Sent</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {invitations.data?.map((inv) => (
            <tr key={inv.id} data-testid="my-invitation" data-invitation-id={inv.id}>
              <td>{inv.project_name}</td>
              <td>
                <span className={`role role-${inv.role}`}>{inv.role}</span>
              </td>
              <td className="muted">{inv.invited_by ?? "—"}</td>
              <td className="nowrap">{formatTime(inv.created_at)}</td>
              <td className="nowrap">
                <button type="button" disabled={busy} onClick={() => accept.mutate(inv.id)}>
                  Accept
                </button>{" "}
                <button type="button" className="danger" disabled={busy} onClick={() => decline.mutate(inv.id)}>
                  Decline
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
