import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { api, unwrap } from "../../api/client";
import { errorMessage, fieldMessage } from "../../api/errors";
import { BarChart } from "../../components/charts/BarChart";
import { formatNumber, formatTime } from "../../lib/format";
import { usePromptSetJob } from "../../lib/jobs";
import { histogramBins, readStats, REMOVED_LABELS, type PromptSetStats } from "../../lib/promptStats";
import { atLeast } from "../../lib/roles";
import type { PromptSetSearch } from "../../routes";
import { Markdown } from "../samples/Markdown";
import { TestsView } from "../samples/TestsView";
import { CleaningFields, DEFAULT_CLEANING, type CleaningOptions, type PromptSet } from "./CleaningFields";
import { RemovedExamples } from "./ImportReportView";
import { JobProgress } from "./JobProgress";
import { usePromptSets, useProject } from "./PromptSetsPage";
import "./promptSets.css";
import { promptSetQuery, promptsPageQuery } from "../../api/queries";

export const PREVIEW_PAGE = 20;
const TABS = ["preview", "stats", "versions"] as const;
type Tab = (typeof TABS)[number];

/** One prompt-set version: facts, a paged preview, statistics, versions and lineage, derive a version. */
export function PromptSetPage({
  projectId,
  promptSetId,
  search,
  onSearch,
}: {
  projectId: number;
  promptSetId: number;
  search: PromptSetSearch;
  onSearch: (patch: Partial<PromptSetSearch>) => void;
}) {
  const set = useQuery(promptSetQuery(projectId, promptSetId));
  const project = useProject(projectId);
  const tab: Tab = TABS.includes(search.tab as Tab) ? (search.tab as Tab) : "preview";

  if (set.isPending) return <p className="muted">Loading prompt set…</p>;
  if (set.isError) {
    return (
      <p className="error" role="alert" data-testid="prompt-set-error">
        {errorMessage(set.error)}
      </p>
    );
  }
  const ps = set.data;
  const stats = readStats(ps.stats);
  return (
    <>
      <div className="page-head">
        <h1 data-testid="prompt-set-name">
          {ps.name} v{ps.version}
        </h1>
        <Link to="/projects/$projectId/prompt-sets" params={{ projectId }} className="small">
          All prompt sets
        </Link>
      </div>
      <dl className="facts">
        <dt>Prompts</dt>
        <dd data-testid="prompt-set-count">{formatNumber(ps.prompt_count)}</dd>
        <dt>Status</dt>
        <dd>
          {ps.status}
          {ps.frozen ? " · frozen (a run uses it)" : ""}
        </dd>
        <dt>Source</dt>
        <dd>{ps.source}</dd>
        <dt>Splits</dt>
        <dd>
          {Object.entries(stats.splits)
            .map(([k, n]) => `${k} ${formatNumber(n)}`)
            .join(", ") || "—"}
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(ps.created_at)}</dd>
      </dl>
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            className={tab === t ? "tab active" : "tab"}
            onClick={() => onSearch({ tab: t === "preview" ? undefined : t })}
            data-testid={`tab-${t}`}
          >
            {t === "preview" ? "Preview" : t === "stats" ? "Statistics" : "Versions"}
          </button>
        ))}
      </div>
      {tab === "preview" && <PromptPreview projectId={projectId} promptSetId={promptSetId} />}
      {tab === "stats" && <StatsView stats={stats} />}
      {tab === "versions" && (
        <Versions projectId={projectId} current={ps} canDerive={atLeast(project.data?.role, "maintainer")} />
      )}
    </>
  );
}

/** Prompts in file order, a page at a time (keyset cursors; the stack of earlier cursors gives "Previous"). */
function PromptPreview({ projectId, promptSetId }: { projectId: number; promptSetId: number }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery({
    ...promptsPageQuery(projectId, promptSetId, cursor, PREVIEW_PAGE),
    placeholderData: (prev) => prev,
  });
  const first = (cursors.length - 1) * PREVIEW_PAGE;
  return (
    <section className="card" data-testid="prompt-preview">
      {page.isPending && <p className="muted">Loading prompts…</p>}
      {page.isError && (
        <p className="error" role="alert">
          {errorMessage(page.error)}
        </p>
      )}
      {page.data && page.data.items.length === 0 && <p className="muted">No prompts.</p>}
      {page.data && page.data.items.length > 0 && (
        <>
          <ol className="prompt-list" start={first + 1}>
            {page.data.items.map((p) => (
              <li key={p.id} data-testid="prompt" data-position={p.position}>
                <div className="prompt-meta muted small">
                  line {p.position} · {p.split}
                  {Object.keys(p.meta).length > 0 && ` · ${Object.keys(p.meta).join(", ")}`}
                </div>
                {p.system && <Markdown text={p.system} className="prompt-system" />}
                {/* rendered as everywhere else: fenced or bare code as highlighted code, line breaks kept */}
                <Markdown
                  className="prompt-text"
                  text={p.messages ? p.messages.map((m) => `**${String(m.role)}:** ${String(m.content)}`).join("\n\n") : p.text}
                />
                {p.reference !== null && (
                  <div className="prompt-reference small" data-testid="prompt-reference">
                    <span className="muted">reference</span>
                    {p.reference.includes("\n") ? <Markdown text={p.reference} /> : <> <code>{p.reference}</code></>}
                  </div>
                )}
                <TestsView tests={p.meta.tests} />
              </li>
            ))}
          </ol>
          <div className="pager">
            <button
              type="button"
              className="secondary"
              disabled={cursors.length === 1 || page.isFetching}
              onClick={() => setCursors((c) => c.slice(0, -1))}
              data-testid="preview-prev"
            >
              Previous
            </button>
            <span className="muted small" data-testid="preview-range">
              {formatNumber(first + 1)}–{formatNumber(first + page.data.items.length)}
            </span>
            <button
              type="button"
              className="secondary"
              disabled={!page.data.next_cursor || page.isFetching}
              onClick={() => setCursors((c) => [...c, page.data.next_cursor ?? null])}
              data-testid="preview-next"
            >
              Next
            </button>
          </div>
        </>
      )}
    </section>
  );
}

export function StatsView({ stats }: { stats: PromptSetStats }) {
  const bins = stats.chars ? histogramBins(stats.chars.histogram) : [];
  const removed = Object.entries(stats.removed);
  const refs = stats.references;
  return (
    <section className="card stats" data-testid="prompt-set-stats">
      <div className="stats-grid">
        <div>
          <BarChart
            title="Prompt length (characters)"
            data={bins.map((b) => ({ label: b.label, value: b.count }))}
            yLabel="prompts"
            testId="length-histogram"
          />
          {stats.chars && (
            <p className="muted small" data-testid="length-summary">
              min {formatNumber(stats.chars.min)} · mean {formatNumber(stats.chars.mean)} ·{" "}
              {Object.entries(stats.chars.percentiles)
                .map(([k, v]) => `${k} ${formatNumber(v)}`)
                .join(" · ")}{" "}
              · max {formatNumber(stats.chars.max)}
            </p>
          )}
        </div>
        <div>
          <h3>Cleaning</h3>
          <dl className="facts" data-testid="cleaning-summary">
            <dt>Rows read</dt>
            <dd>{stats.rowsRead === null ? "—" : formatNumber(stats.rowsRead)}</dd>
            <dt>Rejected (bad rows)</dt>
            <dd>{stats.rejected === null ? "—" : formatNumber(stats.rejected)}</dd>
            {removed.length === 0 && (
              <>
                <dt>Removed</dt>
                <dd>none</dd>
              </>
            )}
            {removed.map(([reason, n]) => (
              <div key={reason} className="facts-row" data-testid={`removed-${reason}`}>
                <dt>{REMOVED_LABELS[reason] ?? reason}</dt>
                <dd>{formatNumber(n)}</dd>
              </div>
            ))}
          </dl>
          <h3>References</h3>
          {refs ? (
            <>
              <p data-testid="references-summary">
                {formatNumber(refs.with_reference)} prompts have a reference;{" "}
                <strong className={refs.unparseable > 0 ? "warn-text" : ""}>
                  {formatNumber(refs.unparseable)} do not parse
                </strong>{" "}
                as a math answer.
              </p>
              {refs.examples.length > 0 && (
                <ul className="small" data-testid="unparseable-examples">
                  {refs.examples.map((e) => (
                    <li key={e.row}>
                      line {e.row}: <code>{e.reference}</code>
                    </li>
                  ))}
                </ul>
              )}
            </>
          ) : (
            <p className="muted">Not counted for this version.</p>
          )}
        </div>
      </div>
      {stats.removedExamples.length > 0 && <RemovedExamples rows={stats.removedExamples} />}
    </section>
  );
}

/** The version chain this set belongs to (same name), its parent, the versions derived from it, and a form
 * to derive a new version with other cleaning settings. */
function Versions({ projectId, current, canDerive }: { projectId: number; current: PromptSet; canDerive: boolean }) {
  const sets = usePromptSets(projectId);
  const all = sets.data ?? [];
  const byId = new Map(all.map((s) => [s.id, s]));
  const lineage: PromptSet[] = [];
  for (let p = current.parent_id; p !== null; ) {
    const s = byId.get(p);
    if (!s || lineage.includes(s)) break;
    lineage.unshift(s);
    p = s.parent_id;
  }
  const children = all.filter((s) => s.parent_id === current.id);
  const versions = all.filter((s) => s.name === current.name).sort((a, b) => a.version - b.version);
  const link = (s: PromptSet) => (
    <Link to="/projects/$projectId/prompt-sets/$promptSetId" params={{ projectId, promptSetId: s.id }}>
      {s.name} v{s.version}
    </Link>
  );
  return (
    <section className="card" data-testid="prompt-set-versions">
      <h3>Lineage</h3>
      <p data-testid="lineage">
        {lineage.length === 0 && <span className="muted">An original upload. </span>}
        {lineage.map((s) => (
          <span key={s.id}>
            {link(s)} →{" "}
          </span>
        ))}
        <strong>
          {current.name} v{current.version}
        </strong>
        {children.length > 0 && (
          <>
            {" → "}
            {children.map((s, i) => (
              <span key={s.id}>
                {i > 0 && ", "}
                {link(s)}
              </span>
            ))}
          </>
        )}
      </p>
      <h3>All versions of {current.name}</h3>
      <table className="table compact">
        <thead>
          <tr>
            <th>Version</th>
            <th>Prompts</th>
            <th>From</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((s) => (
            <tr key={s.id} className={s.id === current.id ? "selected" : ""} data-testid="version-row">
              <td>{link(s)}</td>
              <td className="num">{formatNumber(s.prompt_count)}</td>
              <td className="muted clip">{s.source}</td>
              <td className="nowrap">{formatTime(s.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {canDerive && <DeriveVersion projectId={projectId} source={current} sets={all} />}
    </section>
  );
}

function DeriveVersion({ projectId, source, sets }: { projectId: number; source: PromptSet; sets: PromptSet[] }) {
  const [cleaning, setCleaning] = useState<CleaningOptions>({
    ...DEFAULT_CLEANING,
    ...((source.stats.cleaning as Partial<CleaningOptions> | undefined) ?? {}),
  });
  const [jobId, setJobId] = useState<number | null>(null);
  const derive = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/prompt-sets/{prompt_set_id}/versions", {
          params: { path: { project_id: projectId, prompt_set_id: source.id } },
          body: cleaning,
        }),
      ),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = usePromptSetJob(projectId, jobId);
  const created = (job.data?.result as { prompt_set?: PromptSet } | undefined)?.prompt_set;
  const fieldError = (p: string) => fieldMessage(derive.error, p);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setJobId(null);
    derive.mutate();
  };
  const running = derive.isPending || (jobId !== null && status !== undefined && !["succeeded", "failed", "cancelled"].includes(status));
  return (
    <form className="derive" onSubmit={submit} data-testid="derive-form">
      <h3>Derive a new version</h3>
      <p className="muted small">Cleans this version into a new one; this version stays as it is.</p>
      <CleaningFields value={cleaning} onChange={setCleaning} sets={sets.filter((s) => s.id !== source.id)} fieldError={fieldError} />
      <button type="submit" disabled={running} data-testid="derive-submit">
        {running ? "Deriving…" : "Derive version"}
      </button>
      {derive.isError && (
        <p className="error" role="alert" data-testid="derive-error">
          {errorMessage(derive.error)}
        </p>
      )}
      {jobId !== null && <JobProgress job={job.data} error={job.error} label="Derive" />}
      {created && (
        <p data-testid="derived">
          Created{" "}
          <Link to="/projects/$projectId/prompt-sets/$promptSetId" params={{ projectId, promptSetId: created.id }}>
            {created.name} v{created.version}
          </Link>{" "}
          with {formatNumber(created.prompt_count)} prompts.
        </p>
      )}
    </form>
  );
}
