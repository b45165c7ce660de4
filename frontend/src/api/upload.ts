/**
 * Multipart upload with real upload progress: fetch cannot report how much of a request body was sent,
 * XMLHttpRequest can (xhr.upload "progress" events). Same auth and error handling as the typed client.
 */
import { toApiError } from "./errors";
import { clearToken, getToken } from "./token";

export interface UploadProgress {
  loaded: number;
  /** null when the browser cannot tell (no Content-Length). */
  total: number | null;
}

export function uploadForm<T>(
  url: string,
  form: FormData,
  { onProgress, signal }: { onProgress?: (p: UploadProgress) => void; signal?: AbortSignal } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    const token = getToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (e) => {
      onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : null });
    });
    xhr.addEventListener("load", () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON (a proxy's error page): keep the text for the message.
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body as T);
        return;
      }
      if (xhr.status === 401 && token) clearToken();
      reject(toApiError(body, new Response(null, { status: xhr.status, statusText: xhr.statusText })));
    });
    xhr.addEventListener("error", () => reject(new Error("the upload failed: network error")));
    xhr.addEventListener("abort", () => reject(new DOMException("the upload was cancelled", "AbortError")));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}
