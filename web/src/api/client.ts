/** The typed API client: openapi-fetch over the types generated from the API's OpenAPI document. */
import createClient from "openapi-fetch";
import { ApiError } from "./errors";
import type { paths } from "./schema";
import { apiOrigin, authFetch } from "./session";

function make() {
  return createClient<paths>({ baseUrl: apiOrigin(), fetch: authFetch });
}

let client = make();

/** The client for the current API origin (tests point it at their server). */
export function api(): ReturnType<typeof make> {
  if (client === null || currentOrigin !== apiOrigin()) {
    currentOrigin = apiOrigin();
    client = make();
  }
  return client;
}
let currentOrigin = apiOrigin();

/**
 * Unwraps an openapi-fetch answer: the data, or an ApiError with one readable sentence
 * (openapi-fetch has already read the error body: it is `error`). 204s have no data.
 */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  let detail = "";
  let problems: string[] = [];
  if (error && typeof error === "object") {
    const e = error as { detail?: unknown; problems?: unknown };
    if (typeof e.detail === "string") detail = e.detail;
    if (Array.isArray(e.problems)) problems = e.problems.filter((p): p is string => typeof p === "string");
  }
  const retry = Number(response.headers.get("Retry-After"));
  throw new ApiError(response.status, detail, problems, Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : null);
}
