/**
 * The dashboard's reads: one queryOptions factory per resource (TanStack Query v5), after the
 * full-stack-fastapi-template's frontend. A page spreads one into useQuery and adds what is its own
 * (refetchInterval, enabled, staleTime): `useQuery({ ...runQuery(projectId, runId), refetchInterval })`.
 *
 * One key scheme, in `keys`: [resource, projectId, ...ids]. Invalidations use the same functions, so a
 * write reaches every reader; a key is a prefix of the longer ones under it (keys.calibration(p) covers
 * every version and target).
 */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";
import type { paths } from "./schema";

type GenerationsQuery = NonNullable<paths["/api/projects/{project_id}/runs/{run_id}/generations"]["get"]["parameters"]["query"]>;
type EvalOnly = NonNullable<paths["/api/projects/{project_id}/runs/{run_id}/evaluations/by-prompt"]["get"]["parameters"]["query"]>["only"];

export const keys = {
  me: () => ["me"] as const,
  users: () => ["users"] as const,
  myInvitations: () => ["my-invitations"] as const,
  projects: () => ["projects"] as const,
  project: (projectId: number) => ["project", projectId] as const,
  runs: (projectId: number) => ["runs", projectId] as const,
  run: (projectId: number, runId: number) => ["run", projectId, runId] as const,
  evaluations: (projectId: number, runId: number) => ["evaluations", projectId, runId] as const,
  checkpointCurve: (projectId: number, runId: number) => ["checkpoint-curve", projectId, runId] as const,
  evalCompare: (projectId: number, runId: number) => ["eval-compare", projectId, runId] as const,
  benchmarks: (projectId: number, runId: number) => ["benchmarks", projectId, runId] as const,
  promptSets: (projectId: number) => ["prompt-sets", projectId] as const,
  promptSet: (projectId: number, promptSetId: number) => ["prompt-set", projectId, promptSetId] as const,
  teachers: (projectId: number) => ["teachers", projectId] as const,
  members: (projectId: number) => ["members", projectId] as const,
  invitations: (projectId: number) => ["invitations", projectId] as const,
  rubrics: (projectId: number) => ["rubrics", projectId] as const,
  experiments: (projectId: number) => ["experiments", projectId] as const,
  experiment: (projectId: number, experimentId: number) => ["experiments", projectId, experimentId] as const,
  calibration: (projectId: number) => ["calibration", projectId] as const,
  stageKinds: (projectId: number) => ["stage-kinds", projectId] as const,
  verifierKinds: (projectId: number) => ["verifier-kinds", projectId] as const,
  reviewQueue: (projectId: number, runId: number) => ["review-queue", projectId, runId] as const,
  prompts: (projectId: number, promptSetId: number) => ["prompts", projectId, promptSetId] as const,
  generations: (projectId: number, runId: number) => ["generations", projectId, runId] as const,
  reviewLog: (projectId: number, runId: number) => ["review-log", projectId, runId] as const,
  generationReviews: (projectId: number, runId: number, generationId: number) =>
    ["review-log", projectId, runId, "generation", generationId] as const,
  estimate: (projectId: number) => ["estimate", projectId] as const,
  job: (projectId: number, jobId: number | null) => ["job", projectId, jobId] as const,
  snapshot: (projectId: number, snapshotId: number) => ["snapshot", projectId, snapshotId] as const,
  snapshotCard: (projectId: number, snapshotId: number) => ["snapshot-card", projectId, snapshotId] as const,
  model: (projectId: number, modelId: number) => ["model", projectId, modelId] as const,
  modelCard: (projectId: number, modelId: number) => ["model", projectId, modelId, "card"] as const,
  served: (projectId: number) => ["served", projectId] as const,
  generation: (projectId: number, runId: number, generationId: number) =>
    ["generation", projectId, runId, generationId] as const,
  hubSettings: (projectId: number) => ["hub", projectId] as const,
  hubPushes: (projectId: number, kind?: "snapshot" | "model", objectId?: number) =>
    ["hub-pushes", projectId, ...(kind ? [kind, objectId ?? 0] : [])] as const,
};

export const meQuery = () => queryOptions({ queryKey: keys.me(), queryFn: () => unwrap(api.GET("/api/users/me")) });

/** Every account (administrators only: 403 to others). */
export const usersQuery = () => queryOptions({ queryKey: keys.users(), queryFn: () => unwrap(api.GET("/api/users")) });

export const myInvitationsQuery = () =>
  queryOptions({ queryKey: keys.myInvitations(), queryFn: () => unwrap(api.GET("/api/invitations")) });

export const projectsQuery = () =>
  queryOptions({ queryKey: keys.projects(), queryFn: () => unwrap(api.GET("/api/projects")) });

export const projectQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.project(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}", { params: { path: { project_id: projectId } } })),
  });

/** The project's runs, newest first, a keyset page at a time. */
export const runsQuery = (projectId: number, pageSize: number) =>
  infiniteQueryOptions({
    queryKey: keys.runs(projectId),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs", {
          params: { path: { project_id: projectId }, query: { limit: pageSize, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? null,
  });

export const runQuery = (projectId: number, runId: number) =>
  queryOptions({
    queryKey: keys.run(projectId, runId),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/runs/{run_id}", { params: { path: { project_id: projectId, run_id: runId } } })),
  });

export const evaluationsQuery = (projectId: number, runId: number) =>
  queryOptions({
    queryKey: keys.evaluations(projectId, runId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/evaluations", {
          params: { path: { project_id: projectId, run_id: runId } },
        }),
      ),
  });

/** Accuracy per training checkpoint (evaluate.checkpoints), by step; grows while the evaluate stage runs. */
export const checkpointCurveQuery = (projectId: number, runId: number) =>
  queryOptions({
    queryKey: keys.checkpointCurve(projectId, runId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/evaluations/checkpoints", {
          params: { path: { project_id: projectId, run_id: runId } },
        }),
      ),
  });

/** The run's lm-evaluation-harness scores per model and task (its benchmark stage). */
export const benchmarksQuery = (projectId: number, runId: number) =>
  queryOptions({
    queryKey: keys.benchmarks(projectId, runId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/benchmarks", {
          params: { path: { project_id: projectId, run_id: runId } },
        }),
      ),
  });

export const promptSetsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.promptSets(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/prompt-sets", { params: { path: { project_id: projectId } } })),
  });

export const teachersQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.teachers(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/teachers", { params: { path: { project_id: projectId } } })),
  });

export const membersQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.members(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/members", { params: { path: { project_id: projectId } } })),
  });

export const invitationsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.invitations(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/invitations", { params: { path: { project_id: projectId } } })),
  });

export const rubricsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.rubrics(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/rubrics", { params: { path: { project_id: projectId } } })),
  });

export const experimentsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.experiments(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/experiments", { params: { path: { project_id: projectId } } })),
  });

/** One experiment's table (or a pressure test's verdict): computed from its runs on each read. */
export const experimentQuery = (projectId: number, experimentId: number) =>
  queryOptions({
    queryKey: keys.experiment(projectId, experimentId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/experiments/{experiment_id}", {
          params: { path: { project_id: projectId, experiment_id: experimentId } },
        }),
      ),
  });

/** The stage kinds and their settings' JSON Schemas (the wizard's defaults): fixed while the API runs. */
export const stageKindsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.stageKinds(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/stage-kinds", { params: { path: { project_id: projectId } } })),
    staleTime: Infinity,
  });

/** The verifier kinds and their settings' JSON Schemas: fixed while the API runs. */
export const verifierKindsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.verifierKinds(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/verifier-kinds", { params: { path: { project_id: projectId } } })),
    staleTime: Infinity,
  });

export const reviewQueueQuery = (projectId: number, runId: number) =>
  queryOptions({
    queryKey: keys.reviewQueue(projectId, runId),
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/runs/{run_id}/review", { params: { path: { project_id: projectId, run_id: runId } } })),
  });

export const snapshotQuery = (projectId: number, snapshotId: number) =>
  queryOptions({
    queryKey: keys.snapshot(projectId, snapshotId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/snapshots/{snapshot_id}", {
          params: { path: { project_id: projectId, snapshot_id: snapshotId } },
        }),
      ),
  });

export const modelQuery = (projectId: number, modelId: number) =>
  queryOptions({
    queryKey: keys.model(projectId, modelId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/models/{model_id}", { params: { path: { project_id: projectId, model_id: modelId } } })),
  });

/** The project's Hub endpoint and whether a token is set (the token never comes back). */
export const hubSettingsQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.hubSettings(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/hub", { params: { path: { project_id: projectId } } })),
  });

/** The project's pushes to the Hub (kind and objectId: one snapshot's or model's), newest first. */
export const hubPushesQuery = (projectId: number, kind?: "snapshot" | "model", objectId?: number) =>
  queryOptions({
    queryKey: keys.hubPushes(projectId, kind, objectId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/hub/pushes", {
          params: { path: { project_id: projectId }, query: { kind: kind ?? null, object_id: objectId ?? null } },
        }),
      ),
  });

/** The project's served models (newest first, ended ones included): the first page is plenty. */
export const servedQuery = (projectId: number) =>
  queryOptions({
    queryKey: keys.served(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/served", { params: { path: { project_id: projectId }, query: { limit: 50 } } })),
  });

export const generationQuery = (projectId: number, runId: number, generationId: number) =>
  queryOptions({
    queryKey: keys.generation(projectId, runId, generationId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/generations/{generation_id}", {
          params: { path: { project_id: projectId, run_id: runId, generation_id: generationId } },
        }),
      ),
  });

/** What a recipe would cost and take (a POST, read like a query: keyed by the recipe's JSON). The body has
 * the run creation's shape ({name?, recipe}); the name changes nothing in an estimate, so it is not sent. */
export const estimateQuery = (projectId: number, recipe: Schemas["Recipe"]) =>
  queryOptions({
    queryKey: [...keys.estimate(projectId), JSON.stringify(recipe)] as const,
    retry: false,
    staleTime: 60_000,
    queryFn: () =>
      unwrap(api.POST("/api/projects/{project_id}/runs/estimate", { params: { path: { project_id: projectId } }, body: { recipe } })),
  });

/** A job (import, derive, ...); `jobId` null: nothing to watch yet. */
export const jobQuery = (projectId: number, jobId: number | null) =>
  queryOptions({
    queryKey: keys.job(projectId, jobId),
    enabled: jobId !== null,
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/jobs/{job_id}", { params: { path: { project_id: projectId, job_id: jobId! } } })),
  });

export const promptSetQuery = (projectId: number, promptSetId: number) =>
  queryOptions({
    queryKey: keys.promptSet(projectId, promptSetId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/prompt-sets/{prompt_set_id}", {
          params: { path: { project_id: projectId, prompt_set_id: promptSetId } },
        }),
      ),
  });

/** One page of a prompt set's prompts in file order (keyset cursor; null: the first page). */
export const promptsPageQuery = (projectId: number, promptSetId: number, cursor: string | null, limit: number) =>
  queryOptions({
    queryKey: [...keys.prompts(projectId, promptSetId), cursor] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/prompt-sets/{prompt_set_id}/prompts", {
          params: { path: { project_id: projectId, prompt_set_id: promptSetId }, query: { limit, cursor } },
        }),
      ),
  });

/** A rubric version's calibration at a target precision; `version` null: no rubric chosen yet. */
export const calibrationQuery = (projectId: number, version: number | null, target: number) =>
  queryOptions({
    queryKey: [...keys.calibration(projectId), version, target] as const,
    enabled: version !== null,
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/rubrics/{version}/calibration", {
          params: { path: { project_id: projectId, version: version! }, query: { target_precision: target } },
        }),
      ),
  });

/** The snapshot's dataset card (markdown text). */
export const snapshotCardQuery = (projectId: number, snapshotId: number) =>
  queryOptions({
    queryKey: keys.snapshotCard(projectId, snapshotId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/snapshots/{snapshot_id}/card", {
          params: { path: { project_id: projectId, snapshot_id: snapshotId } },
          parseAs: "text",
        }),
      ) as Promise<string>,
  });

/** A trained model's card (markdown text), rendered by the API from what is stored now (evaluations too). */
export const modelCardQuery = (projectId: number, modelId: number) =>
  queryOptions({
    queryKey: keys.modelCard(projectId, modelId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/models/{model_id}/card", {
          params: { path: { project_id: projectId, model_id: modelId } },
          parseAs: "text",
        }),
      ) as Promise<string>,
  });

/** One page of the sample browser: a run's generations under the filters in `query`. */
export const generationsPageQuery = (projectId: number, runId: number, query: GenerationsQuery) =>
  queryOptions({
    queryKey: [...keys.generations(projectId, runId), query] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/generations", {
          params: { path: { project_id: projectId, run_id: runId }, query },
        }),
      ),
  });

/** The per-prompt evaluation table, a keyset page at a time. */
export const evalCompareQuery = (projectId: number, runId: number, only: EvalOnly, pageSize: number) =>
  infiniteQueryOptions({
    queryKey: [...keys.evalCompare(projectId, runId), only] as const,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/evaluations/by-prompt", {
          params: { path: { project_id: projectId, run_id: runId }, query: { limit: pageSize, cursor: pageParam, only } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? null,
  });

/** The review audit log, oldest first; `refreshKey` starts it over (a new decision). */
/** One attempt's review decisions (its edits and their verifier verdicts), for the trace view. */
export const generationReviewsQuery = (projectId: number, runId: number, generationId: number) =>
  queryOptions({
    queryKey: keys.generationReviews(projectId, runId, generationId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/review/log", {
          params: { path: { project_id: projectId, run_id: runId }, query: { generation_id: generationId, limit: 1000 } },
        }),
      ),
  });

export const reviewLogQuery = (projectId: number, runId: number, refreshKey: number, pageSize: number) =>
  infiniteQueryOptions({
    queryKey: [...keys.reviewLog(projectId, runId), refreshKey] as const,
    initialPageParam: 0,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/projects/{project_id}/runs/{run_id}/review/log", {
          params: { path: { project_id: projectId, run_id: runId }, query: { limit: pageSize, after: pageParam } },
        }),
      ),
    getNextPageParam: (last) => (last.length === pageSize ? last[last.length - 1].id : undefined),
  });
