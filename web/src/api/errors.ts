/** Errors as a user reads them: one sentence, never a stack trace or a raw body. */

/** A field path as the form names it: `workloads[0].peak_rps` -> `workloads.0.peak_rps`. */
export function normalizePath(path: string): string {
  return path.replace(/\[(\d+)\]/g, ".$1").replace(/^body\./, "").replace(/^body$/, "");
}

/** "invalid email or password" -> "Invalid email or password." */
export function sentence(text: string): string {
  const trimmed = text.trim().replace(/\s+/g, " ");
  if (!trimmed) return "";
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** The API's refusal: status, its one-line detail, and the problems by field path. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  /** Normalized field path -> message, from the 422 `problems` lines ("path: message"). */
  readonly fieldErrors: Record<string, string>;
  readonly problems: string[];
  readonly retryAfterS: number | null;

  constructor(status: number, detail: string, problems: string[] = [], retryAfterS: number | null = null) {
    super(describe(status, detail, retryAfterS));
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.problems = problems;
    this.retryAfterS = retryAfterS;
    this.fieldErrors = {};
    for (const line of problems) {
      const cut = line.indexOf(": ");
      if (cut < 0) continue;
      const path = normalizePath(line.slice(0, cut));
      const message = sentence(line.slice(cut + 2).replace(/^Value error, /, ""));
      // the first problem of a field is the one shown beside it
      if (!(path in this.fieldErrors)) this.fieldErrors[path] = message;
    }
  }
}

function describe(status: number, detail: string, retryAfterS: number | null): string {
  if (status === 429) {
    const wait = retryAfterS ? ` in ${retryAfterS} second${retryAfterS === 1 ? "" : "s"}` : " in a moment";
    return detail ? `${sentence(detail).slice(0, -1)}; try again${wait}.` : `Too many requests; try again${wait}.`;
  }
  if (detail) return sentence(detail);
  if (status >= 500) return `The server had a problem (error ${status}); try again in a moment.`;
  if (status === 404) return "Not found: it may have been deleted, or it belongs to another organization.";
  if (status === 403) return "You are not allowed to do that in this organization.";
  if (status === 401) return "Your session has ended; sign in again.";
  return `The request was refused (error ${status}).`;
}

/** Builds an ApiError from a failed response, whatever its body holds. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let detail = "";
  let problems: string[] = [];
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object") {
      const b = body as { detail?: unknown; problems?: unknown };
      if (typeof b.detail === "string") detail = b.detail;
      if (Array.isArray(b.problems)) problems = b.problems.filter((p): p is string => typeof p === "string");
    }
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  const retry = Number(response.headers.get("Retry-After"));
  return new ApiError(response.status, detail, problems, Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : null);
}

/** The one sentence to show for anything thrown by an API call. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof DOMException && error.name === "AbortError") return "Stopped.";
  if (error instanceof TypeError) return "The server could not be reached; check your connection and try again.";
  if (error instanceof Error && error.message) return sentence(error.message);
  return "Something went wrong; try again.";
}
