/** Placeholder: dash-review replaces this file with the real page. */
export function JudgePage(_props: { projectId: number }) {
  return (
    <p className="muted" data-testid="not-built">
      Judge rubrics and calibration is not built yet.
    </p>
  );
}
