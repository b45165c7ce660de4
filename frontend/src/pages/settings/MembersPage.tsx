/** Placeholder: dash-review replaces this file with the real page. */
export function MembersPage(_props: { projectId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      The members page is not built yet.
    </p>
  );
}
