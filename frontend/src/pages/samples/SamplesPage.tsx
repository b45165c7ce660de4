import type { SamplesSearch } from "../../routes";
/** Placeholder: dash-run replaces this file with the real page. */
export function SamplesPage(_props: { projectId: number; runId: number; search: SamplesSearch; onSearch: (patch: Partial<SamplesSearch>) => void }) {
  return (
    <p className="muted" data-testid="not-built">
      The sample browser is not built yet.
    </p>
  );
}
