import type { EvaluationSearch } from "../../routes";
/** Placeholder: dash-review replaces this file with the real page. */
export function EvaluationPage(_props: { projectId: number; runId: number; search: EvaluationSearch; onSearch: (patch: Partial<EvaluationSearch>) => void }) {
  return (
    <p className="muted" data-testid="not-built">
      The evaluation comparison is not built yet.
    </p>
  );
}
