/** Placeholder: dash-run replaces this file with the real page. */
export function TracePage(_props: { projectId: number; runId: number; generationId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      The trace view is not built yet.
    </p>
  );
}
