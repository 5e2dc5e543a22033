/** Raw calls the typed client does not fit: event streams and file downloads. */
import { errorFromResponse } from "./errors";
import { apiUrl, authFetch } from "./session";
import { readEventStream, type ServerEvent } from "./sse";

interface StreamInit {
  method?: "GET" | "POST";
  body?: unknown;
  signal?: AbortSignal;
}

/** Opens an event stream with the Bearer token (refreshed once on a 401) and yields its events. */
export async function* streamEvents(path: string, init: StreamInit = {}): AsyncGenerator<ServerEvent> {
  const request = new Request(apiUrl(path), {
    method: init.method ?? "GET",
    headers: {
      Accept: "text/event-stream",
      ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  const response = await authFetch(request);
  if (!response.ok) throw await errorFromResponse(response);
  if (!response.body) return;
  yield* readEventStream(response.body, init.signal);
}

/** Fetches a file with the Bearer token; its name from Content-Disposition. */
export async function fetchFile(path: string, fallbackName: string): Promise<{ blob: Blob; filename: string }> {
  const response = await authFetch(new Request(apiUrl(path)));
  if (!response.ok) throw await errorFromResponse(response);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const match = /filename="([^"]+)"/.exec(disposition);
  return { blob: await response.blob(), filename: match?.[1] ?? fallbackName };
}

/** Hands a Blob to the browser as a download. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // the click has started the download; the URL is not needed after this turn
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
