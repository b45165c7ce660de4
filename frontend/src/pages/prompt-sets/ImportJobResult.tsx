import { Link } from "@tanstack/react-router";
import { formatNumber } from "../../lib/format";
import { jobReport, type Job } from "../../lib/jobs";
import type { PromptSet } from "./CleaningFields";
import { ImportReportView } from "./ImportReportView";
import { JobProgress } from "./JobProgress";

/** An import job as it goes and as it ended: progress, the report (bad rows, removals), the new version. */
export function ImportJobResult({ projectId, job, error }: { projectId: number; job: Job | undefined; error: unknown }) {
  const report = jobReport(job);
  const created = (job?.result as { prompt_set?: PromptSet } | undefined)?.prompt_set;
  return (
    <div className="import-result" data-testid="import-result" data-job-status={job?.status}>
      <JobProgress job={job} error={error} label="Import" />
      {report && <ImportReportView report={report} />}
      {created && (
        <p>
          Imported{" "}
          <Link
            to="/projects/$projectId/prompt-sets/$promptSetId"
            params={{ projectId, promptSetId: created.id }}
            data-testid="imported-link"
          >
            {created.name} v{created.version}
          </Link>{" "}
          with {formatNumber(created.prompt_count)} prompts.
        </p>
      )}
    </div>
  );
}
