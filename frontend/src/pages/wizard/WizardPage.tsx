/** Placeholder: dash-shell replaces this file with the real page. */
export function WizardPage(_props: { projectId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      The launch wizard is not built yet.
    </p>
  );
}
