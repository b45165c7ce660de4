/** Placeholder: dash-review replaces this file with the real page. */
export function ReviewPage(_props: { projectId: number; runId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      The review queue is not built yet.
    </p>
  );
}
