import { errorMessage } from "../../api/errors";
import { ProgressBar } from "../../components/ProgressBar";
import { StatusBadge } from "../../components/StatusBadge";
import type { Job } from "../../lib/jobs";

/** A job's status and progress while it runs; its error message once it failed. */
export function JobProgress({ job, error, label }: { job: Job | undefined; error?: unknown; label: string }) {
  if (error) {
    return (
      <p className="error" role="alert" data-testid="job-poll-error">
        {errorMessage(error)}
      </p>
    );
  }
  if (!job) return <ProgressBar done={0} total={null} label={label} />;
  return (
    <div className="job-progress" data-testid="job-progress" data-job-status={job.status}>
      <div className="stage-head">
        <strong>{label}</strong> <StatusBadge status={job.status} />
      </div>
      {job.status !== "failed" && <ProgressBar done={job.progress_done} total={job.progress_total} label={label} />}
      {job.error && (
        <p className="error" role="alert" data-testid="job-error">
          {String((job.error as { message?: unknown }).message ?? "the job failed")}
        </p>
      )}
    </div>
  );
}
