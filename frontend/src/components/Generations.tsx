import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { errorMessage } from "../api/errors";
import { formatNumber } from "../lib/format";
import { Markdown } from "../pages/samples/Markdown";

const PAGE = 50;

/** A run's generations, a page at a time: the teacher's reasoning, answer, and any failure's cause. */
export function Generations({ projectId, runId, live }: { projectId: number; runId: number; live: boolean }) {
  const [status, setStatus] = useState<"" | "ok" | "failed">("");
  const gens = useInfiniteQuery({
    // `live` is in the key so the list is fetched once more when the run finishes.
    queryKey: ["generations", projectId, runId, status, live],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/generations", {
          params: {
            path: { project_id: projectId, run_id: runId },
            query: { limit: PAGE, cursor: pageParam, status: status || null },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? null,
    refetchInterval: live ? 5000 : false,
  });
  const items = gens.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="generations" data-testid="generations">
      <div className="card-head">
        <h3>Generations</h3>
        <select value={status} onChange={(e) => setStatus(e.target.value as "" | "ok" | "failed")} data-testid="generations-filter">
          <option value="">all</option>
          <option value="ok">succeeded</option>
          <option value="failed">failed</option>
        </select>
      </div>
      {gens.isError && (
        <p className="error" role="alert">
          {errorMessage(gens.error)}
        </p>
      )}
      {gens.isSuccess && items.length === 0 && <p className="muted">None yet.</p>}
      <ol className="generation-list">
        {items.map((g) => (
          <li key={g.id} data-testid="generation" data-status={g.status}>
            <div className="small muted">
              prompt {g.prompt_id} · attempt {g.attempt} · {g.status}
              {g.truncated && <strong data-testid="generation-truncated"> · truncated</strong>}
              {g.from_cache && " · from cache"}
              {g.completion_tokens !== null && ` · ${formatNumber(g.completion_tokens)} tokens`}
            </div>
            {g.error && <p className="error small">{g.error}</p>}
            {g.reasoning && (
              <details>
                <summary>reasoning</summary>
                <pre>{g.reasoning}</pre>
              </details>
            )}
            {/* rendered like every other answer: code blocks highlighted, indentation kept */}
            {g.content && (
              <div data-testid="generation-content">
                <Markdown text={g.content} />
              </div>
            )}
          </li>
        ))}
      </ol>
      {gens.hasNextPage && (
        <button type="button" className="secondary" onClick={() => void gens.fetchNextPage()} data-testid="generations-more">
          More
        </button>
      )}
    </div>
  );
}
