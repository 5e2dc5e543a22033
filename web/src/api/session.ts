/**
 * The browser session. The access token lives in this module's memory only (never in
 * localStorage or sessionStorage); the refresh token is the server's HttpOnly cookie
 * `im_refresh`, scoped to /api/v1/auth/browser, which this code never sees. Every call to
 * those routes carries `X-CSRF-Guard: 1`, a header a cross-site form cannot send.
 */
import { errorFromResponse } from "./errors";

const CSRF = { "X-CSRF-Guard": "1" };

let origin = "";
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

/** The API's origin: "" in the app (same origin); an absolute one in tests. */
export function apiOrigin(): string {
  return origin;
}

export function setApiOrigin(value: string): void {
  origin = value.replace(/\/$/, "");
}

export function apiUrl(path: string): string {
  return `${origin}/api/v1${path}`;
}

export function accessTokenNow(): string | null {
  return accessToken;
}

export function isSignedIn(): boolean {
  return accessToken !== null;
}

/** For useSyncExternalStore: called when the session starts or ends. */
export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setToken(token: string | null): void {
  if (token === accessToken) return;
  accessToken = token;
  for (const listener of listeners) listener();
}

interface TokenBody {
  access_token: string;
}

async function post(path: string, body?: unknown): Promise<Response> {
  return fetch(apiUrl(path), {
    method: "POST",
    credentials: "same-origin",
    headers: body === undefined ? { ...CSRF } : { ...CSRF, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Signs in; throws ApiError (401 "invalid email or password", 429, ...). */
export async function signIn(email: string, password: string): Promise<void> {
  const response = await post("/auth/browser/login", { email, password });
  if (!response.ok) throw await errorFromResponse(response);
  const tokens = (await response.json()) as TokenBody;
  setToken(tokens.access_token);
}

/** Creates an account, then signs in with it (registration answers 202 either way). */
export async function register(email: string, password: string, fullName: string): Promise<void> {
  const response = await post("/auth/register", { email, password, full_name: fullName });
  if (!response.ok) throw await errorFromResponse(response);
  await signIn(email, password);
}

/**
 * Gets a new access token from the refresh cookie; false when there is no session. Calls
 * made at the same time share one refresh (the cookie rotates: a second one would fail).
 */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const response = await post("/auth/browser/refresh");
      if (!response.ok) {
        setToken(null);
        return false;
      }
      const tokens = (await response.json()) as TokenBody;
      setToken(tokens.access_token);
      return true;
    } catch {
      // the server could not be reached: keep what we have, say "not refreshed"
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * On page load: the session from the refresh cookie. A token already in memory (signed in
 * since the module loaded) is kept: a failed refresh must not end a session that works.
 */
export async function restoreSession(): Promise<boolean> {
  return accessToken !== null || refreshSession();
}

/** Signs out: the server revokes the session and clears its cookie; memory is cleared. */
export async function signOut(): Promise<void> {
  try {
    await post("/auth/browser/logout");
  } finally {
    setToken(null);
  }
}

/**
 * fetch() with the access token; on a 401 it refreshes the session once and sends the
 * request again. Bodies are buffered by the caller (openapi-fetch builds a Request).
 */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const response = await send(input);
  if (response.status !== 401 || accessToken === null) return response;
  const sentWith = input.headers.get("Authorization");
  // another call may have refreshed while this one was in flight
  if (sentWith === `Bearer ${accessToken}` && !(await refreshSession())) return response;
  if (accessToken === null) return response;
  return send(retry);
}

function send(request: Request): Promise<Response> {
  if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
  return fetch(request);
}
