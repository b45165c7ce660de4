import type { PromptSetSearch } from "../../routes";
/** Placeholder: dash-shell replaces this file with the real page. */
export function PromptSetPage(_props: { projectId: number; promptSetId: number; search: PromptSetSearch; onSearch: (patch: Partial<PromptSetSearch>) => void }) {
  return (
    <p className="muted" data-testid="not-built">
      The prompt set page is not built yet.
    </p>
  );
}
