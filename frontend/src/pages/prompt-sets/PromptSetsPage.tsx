/** Placeholder: dash-shell replaces this file with the real page. */
export function PromptSetsPage(_props: { projectId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      The prompt sets list is not built yet.
    </p>
  );
}
