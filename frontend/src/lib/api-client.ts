/**
 * The one HTTP client of the SPA: every REST call goes through `apiRequest`, and every failure goes
 * through `toApiError`, so error shapes, timeouts and the 401 rule are handled in exactly one place.
 *
 * The 401 rule is the original client's: any 401 on an authenticated call clears the session and
 * sends the user to the login page. There is no silent refresh.
 */
import type { ErrorBody } from './api-types';
import { clearSession, getAccessToken } from './session';

export const API_BASE = '/api/v1';

/** The original client's axios timeout. */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * For calls that wait on a language model (root cause, log analysis, chat): the server allows each
 * model attempt 30 s and makes up to three, with back-off in between.
 */
export const AI_REQUEST_TIMEOUT_MS = 150_000;

export type ApiErrorKind = 'http' | 'network' | 'timeout';

export class ApiError extends Error {
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  readonly kind: ApiErrorKind;
  /** The server's `detail` rendered as text, when it sent one. */
  readonly detail: string | null;

  constructor(kind: ApiErrorKind, status: number, detail: string | null) {
    super(detail ?? (kind === 'http' ? `request failed with status ${status}` : `request failed: ${kind}`));
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.detail = detail;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/**
 * Registers what happens after a 401 has cleared the session (the app navigates to `/login`).
 * Returns a function that removes the listener.
 */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Query parameters; `undefined`, `null` and `''` are left out. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /**
   * Whether this call belongs to the logged-in session (default true): it then carries the bearer
   * token, and a 401 ends the session. Login and register pass `false`, because a 401 there means
   * bad credentials, which the form shows.
   */
  session?: boolean;
  /** How long to wait for the response (default `REQUEST_TIMEOUT_MS`). */
  timeoutMs?: number;
}

export function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `${API_BASE}${path}${search ? `?${search}` : ''}`;
}

function detailText(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !('detail' in body)) return null;
  const detail = (body as ErrorBody).detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    // FastAPI-style 422: show "field: message" for each issue.
    return detail
      .map((issue) => {
        const field = issue.loc.filter((part) => part !== 'body').join('.');
        return field ? `${field}: ${issue.msg}` : issue.msg;
      })
      .join('; ');
  }
  return null;
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Turns anything a request can fail with into an `ApiError`, and applies the 401 rule.
 * This is the client's single error handler.
 */
export async function toApiError(
  failure: { response: Response } | { thrown: unknown; timedOut: boolean },
  session: boolean,
): Promise<ApiError> {
  if ('thrown' in failure) {
    return new ApiError(failure.timedOut ? 'timeout' : 'network', 0, null);
  }
  const { response } = failure;
  const error = new ApiError('http', response.status, detailText(await readJson(response)));
  if (response.status === 401 && session) {
    clearSession();
    unauthorizedListeners.forEach((listener) => listener());
  }
  return error;
}

export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = 'GET', query, body, signal, session = true, timeoutMs = REQUEST_TIMEOUT_MS } = options;

  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = session ? getAccessToken() : null;
  if (token) headers.Authorization = `Bearer ${token}`;

  // One controller aborts on the caller's signal or on the timeout, whichever comes first.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const abortFromCaller = () => controller.abort();
  signal?.addEventListener('abort', abortFromCaller, { once: true });

  let response: Response;
  try {
    response = await fetch(buildUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (thrown) {
    // A caller's abort (React Query cancelling a stale query) is not an error to show.
    if (signal?.aborted) throw thrown;
    throw await toApiError({ thrown, timedOut }, session);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abortFromCaller);
  }

  if (!response.ok) throw await toApiError({ response }, session);
  if (response.status === 204) return undefined as T;
  return (await readJson(response)) as T;
}

/**
 * A POST whose answer is read as a stream (Server-Sent Events): same token, error and 401 handling
 * as `apiRequest`, but no timeout once the response has started (an answer may stream for minutes),
 * and the `Response` itself is returned so the caller can read `response.body` incrementally.
 * Only the wait for the response headers is bounded, by `timeoutMs` (default `REQUEST_TIMEOUT_MS`).
 */
export async function apiStream(path: string, options: { body: unknown; signal?: AbortSignal; timeoutMs?: number }): Promise<Response> {
  const { body, signal, timeoutMs = REQUEST_TIMEOUT_MS } = options;
  const headers: Record<string, string> = { Accept: 'text/event-stream', 'Content-Type': 'application/json' };
  const token = getAccessToken();
  if (token) headers.Authorization = `Bearer ${token}`;

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const abortFromCaller = () => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener('abort', abortFromCaller, { once: true });

  let response: Response;
  try {
    response = await fetch(buildUrl(path), {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (thrown) {
    signal?.removeEventListener('abort', abortFromCaller);
    if (signal?.aborted) throw thrown;
    throw await toApiError({ thrown, timedOut }, true);
  } finally {
    clearTimeout(timer);
  }

  if (!response.ok) {
    signal?.removeEventListener('abort', abortFromCaller);
    throw await toApiError({ response }, true);
  }
  // The caller's abort keeps cancelling the body while it streams.
  return response;
}
