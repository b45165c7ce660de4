/** Placeholder: dash-review replaces this file with the real page. */
export function TeachersPage(_props: { projectId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      The teachers page is not built yet.
    </p>
  );
}
