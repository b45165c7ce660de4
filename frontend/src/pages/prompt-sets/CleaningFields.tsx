import type { Schemas } from "../../api/client";

export type CleaningOptions = Schemas["CleaningOptions"];
export type PromptSet = Schemas["PromptSetOut"];

export const DEFAULT_CLEANING: CleaningOptions = {
  dedup_exact: true,
  near_dup_threshold: 0.8,
  shingle_words: 5,
  decontaminate_against: null,
  ngram: 8,
  eval_ratio: 0,
  split_seed: "",
};

/** The cleaning settings of an import or a derived version (backend CleaningOptions). */
export function CleaningFields({
  value,
  onChange,
  sets,
  fieldError,
}: {
  value: CleaningOptions;
  onChange: (v: CleaningOptions) => void;
  /** Candidate evaluation sets for decontamination. */
  sets: PromptSet[];
  /** The API's message for a field path like "options.eval_ratio", if any. */
  fieldError?: (path: string) => string | undefined;
}) {
  const set = (patch: Partial<CleaningOptions>) => onChange({ ...value, ...patch });
  const err = (k: string) => {
    const m = fieldError?.(k);
    return m ? <span className="field-error">{m}</span> : null;
  };
  return (
    <fieldset className="cleaning">
      <legend>Cleaning</legend>
      <div className="form-grid">
        <label className="check">
          <input
            type="checkbox"
            checked={value.dedup_exact}
            onChange={(e) => set({ dedup_exact: e.target.checked })}
            data-testid="clean-dedup-exact"
          />
          Drop exact duplicates
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={value.near_dup_threshold !== null}
            onChange={(e) => set({ near_dup_threshold: e.target.checked ? 0.8 : null })}
            data-testid="clean-near-dup"
          />
          Drop near duplicates (MinHash)
        </label>
        {value.near_dup_threshold !== null && (
          <label>
            Near-duplicate Jaccard threshold
            <input
              type="number"
              step="0.05"
              min={0.05}
              max={1}
              value={value.near_dup_threshold}
              onChange={(e) => set({ near_dup_threshold: Number(e.target.value) })}
              data-testid="clean-near-dup-threshold"
            />
            {err("near_dup_threshold")}
          </label>
        )}
        <label>
          Decontaminate against
          <select
            value={value.decontaminate_against ?? ""}
            onChange={(e) => set({ decontaminate_against: e.target.value ? Number(e.target.value) : null })}
            data-testid="clean-decontaminate"
          >
            <option value="">(none)</option>
            {sets.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} v{s.version}
              </option>
            ))}
          </select>
          {err("decontaminate_against")}
        </label>
        {value.decontaminate_against != null && (
          <label>
            n-gram size
            <input
              type="number"
              min={3}
              max={50}
              value={value.ngram}
              onChange={(e) => set({ ngram: Number(e.target.value) })}
              data-testid="clean-ngram"
            />
            {err("ngram")}
          </label>
        )}
        <label>
          Eval split share (0–0.99)
          <input
            type="number"
            step="0.05"
            min={0}
            max={0.99}
            value={value.eval_ratio}
            onChange={(e) => set({ eval_ratio: Number(e.target.value) })}
            data-testid="clean-eval-ratio"
          />
          {err("eval_ratio")}
        </label>
      </div>
    </fieldset>
  );
}
