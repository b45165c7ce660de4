import { useEffect } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { Schemas } from "../api/client";
import { jobQuery, keys } from "../api/queries";
import { isFinished } from "./format";

export type Job = Schemas["JobOut"];

/** How often a running job is polled. */
export const JOB_POLL_MS = 1000;

/** Poll a job (import, derive, ...) until it is finished; `jobId` null: nothing to watch yet. */
export function useJob(projectId: number, jobId: number | null) {
  return useQuery({
    ...jobQuery(projectId, jobId),
    refetchInterval: (query) => {
      const job = query.state.data;
      return job && isFinished(job.status) ? false : JOB_POLL_MS;
    },
  });
}

/**
 * A prompt-set job (import, derive, hub import) polled until it ends; once it succeeded the project's
 * prompt-set list is refreshed, so the new version shows there and in other pages' pickers.
 */
export function usePromptSetJob(projectId: number, jobId: number | null) {
  const queryClient = useQueryClient();
  const job = useJob(projectId, jobId);
  const status = job.data?.status;
  useEffect(() => {
    if (status === "succeeded") void queryClient.invalidateQueries({ queryKey: keys.promptSets(projectId) });
  }, [status, projectId, queryClient]);
  return job;
}

/** The import report a job carries: in its result when it succeeded, in its error's details when rows were bad. */
export function jobReport(job: Job | undefined): ImportReport | null {
  if (!job) return null;
  const fromResult = (job.result as { report?: unknown } | null)?.report;
  const fromError = (job.error as { details?: { report?: unknown } } | null)?.details?.report;
  const r = fromResult ?? fromError;
  return r && typeof r === "object" ? (r as ImportReport) : null;
}

/** backend/prompts/schemas.py ImportReport (carried inside a job's free-form result, so not in the schema). */
export interface RowError {
  row: number;
  field: string | null;
  reason: string;
  message: string;
}

export interface RemovedRow {
  row: number;
  reason: string;
  matched: number;
  text: string;
  matched_text?: string | null;
}

export interface ImportReport {
  rows_read: number;
  rows_stored: number;
  rows_rejected: number;
  errors: RowError[];
  reasons: Record<string, number>;
  removed?: Record<string, number>;
  removed_examples?: RemovedRow[];
}
