import { toApiError } from "../../api/errors";
import { getToken } from "../../api/token";

/** Fetch an API file with the session's bearer token and hand it to the browser as a download. */
export async function downloadWithToken(url: string, filename: string): Promise<void> {
  const token = getToken();
  const response = await fetch(new URL(url, window.location.origin).toString(), {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    throw toApiError(body, response);
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}
