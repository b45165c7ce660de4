/** The backend's single error shape: {"error": {"code", "message", "fields"?}}. */
export interface FieldError {
  path: string;
  message: string;
  type?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];

  constructor(status: number, code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** Build an ApiError from whatever body a failed response carried. */
export function toApiError(body: unknown, response: Response): ApiError {
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    const message = typeof e.message === "string" && e.message ? e.message : response.statusText;
    const fields = Array.isArray(e.fields) ? (e.fields as FieldError[]) : [];
    return new ApiError(response.status, String(e.code ?? "error"), message || `HTTP ${response.status}`, fields);
  }
  if (isRecord(body) && typeof body.detail === "string") {
    return new ApiError(response.status, "error", body.detail);
  }
  if (typeof body === "string" && body.trim()) {
    return new ApiError(response.status, "error", body.trim());
  }
  return new ApiError(response.status, "error", response.statusText || `HTTP ${response.status}`);
}

/** The message an API error gives for one field (`name`, `options.ngram`), its `body.` prefix dropped. */
export function fieldMessage(err: unknown, path: string): string | undefined {
  if (!(err instanceof ApiError)) return undefined;
  return err.fields.find((f) => f.path.replace(/^body\./, "") === path)?.message;
}

/** A human-readable message for any error a query or mutation can throw. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.fields.length > 0) {
      const details = err.fields
        .map((f) => (f.path ? `${f.path.replace(/^body\./, "")}: ${f.message}` : f.message))
        .join("; ");
      return `${err.message} (${details})`;
    }
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
