import { describe, expect, it, vi } from 'vitest';
import { json, mockFetch } from '@/testing/fetch-mock';
import { signIn } from '@/testing/fixtures';
import { AI_REQUEST_TIMEOUT_MS, ApiError, apiRequest, apiStream, buildUrl, onUnauthorized } from './api-client';
import { ACCESS_TOKEN_KEY, USER_ROLE_KEY } from './session';

describe('apiRequest', () => {
  it('builds /api/v1 URLs and leaves out empty query values', () => {
    expect(buildUrl('/hosts', { page: 2, status: undefined, search: '', group_name: null })).toBe('/api/v1/hosts?page=2');
  });

  it('sends the bearer token on session calls only', async () => {
    signIn('viewer');
    const server = mockFetch({ 'GET /api/v1/x': () => json(200, {}), 'POST /api/v1/auth/login': () => json(200, {}) });
    await apiRequest('/x');
    await apiRequest('/auth/login', { method: 'POST', body: {}, session: false });
    expect(server.calls[0]?.headers.get('Authorization')).toMatch(/^Bearer /);
    expect(server.calls[1]?.headers.get('Authorization')).toBeNull();
  });

  it('returns undefined for 204', async () => {
    mockFetch({ 'DELETE /api/v1/x/1': () => json(204) });
    await expect(apiRequest('/x/1', { method: 'DELETE' })).resolves.toBeUndefined();
  });

  it('turns a string detail into the error text', async () => {
    mockFetch({ 'GET /api/v1/hosts/9': () => json(404, { detail: 'Host not found' }) });
    const error = await apiRequest('/hosts/9').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, kind: 'http', detail: 'Host not found' });
  });

  it('renders a 422 issue list as field: message', async () => {
    mockFetch({
      'POST /api/v1/auth/register': () =>
        json(422, { detail: [{ loc: ['body', 'email'], msg: 'value is not a valid email address', type: 'value_error' }] }),
    });
    const error = await apiRequest('/auth/register', { method: 'POST', body: {}, session: false }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 422, detail: 'email: value is not a valid email address' });
  });

  it('keeps a non-JSON error body from hiding the status', async () => {
    mockFetch({ 'GET /api/v1/x': () => new Response('<html>bad gateway</html>', { status: 502 }) });
    const error = await apiRequest('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, detail: null, kind: 'http' });
  });

  it('reports a failed connection as a network error', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')));
    const error = await apiRequest('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, kind: 'network' });
  });

  it('clears the session and tells the app on a 401 of a session call', async () => {
    signIn('admin');
    const listener = vi.fn();
    const stop = onUnauthorized(listener);
    mockFetch({ 'GET /api/v1/hosts': () => json(401, { detail: 'Invalid token' }) });
    await expect(apiRequest('/hosts')).rejects.toMatchObject({ status: 401 });
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(USER_ROLE_KEY)).toBeNull();
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
  });

  it('leaves the session alone on a 401 of a login attempt', async () => {
    signIn('admin');
    const listener = vi.fn();
    const stop = onUnauthorized(listener);
    mockFetch({ 'POST /api/v1/auth/login': () => json(401, { detail: 'Invalid credentials' }) });
    await expect(apiRequest('/auth/login', { method: 'POST', body: {}, session: false })).rejects.toMatchObject({
      detail: 'Invalid credentials',
    });
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).not.toBeNull();
    expect(listener).not.toHaveBeenCalled();
    stop();
  });

  it('times out after 15 s', async () => {
    vi.useFakeTimers();
    try {
      vi.stubGlobal(
        'fetch',
        vi.fn(
          (_url: string, init: RequestInit) =>
            new Promise((_resolve, reject) => {
              init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
            }),
        ),
      );
      const pending = apiRequest('/slow').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(15_000);
      expect(await pending).toMatchObject({ kind: 'timeout', status: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits longer when the call asks for it', async () => {
    vi.useFakeTimers();
    try {
      vi.stubGlobal(
        'fetch',
        vi.fn(
          (_url: string, init: RequestInit) =>
            new Promise((_resolve, reject) => {
              init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
            }),
        ),
      );
      let settled = false;
      const pending = apiRequest('/slow', { timeoutMs: AI_REQUEST_TIMEOUT_MS })
        .catch((e: unknown) => e)
        .finally(() => (settled = true));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(AI_REQUEST_TIMEOUT_MS - 60_000);
      expect(await pending).toMatchObject({ kind: 'timeout' });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('apiStream', () => {
  it('POSTs JSON with the bearer token and hands back the unread response', async () => {
    signIn('viewer');
    const server = mockFetch({
      'POST /api/v1/ai/chat/stream': () => new Response('data: x\n\n', { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    });
    const response = await apiStream('/ai/chat/stream', { body: { question: 'q' } });
    expect(response.bodyUsed).toBe(false);
    expect(await response.text()).toBe('data: x\n\n');
    expect(server.calls[0]?.headers.get('Authorization')).toMatch(/^Bearer /);
    expect(server.calls[0]?.headers.get('Accept')).toBe('text/event-stream');
    expect(server.calls[0]?.body).toEqual({ question: 'q' });
  });

  it('fails like apiRequest: the detail, and the 401 rule', async () => {
    signIn('viewer');
    mockFetch({ 'POST /api/v1/ai/chat/stream': () => json(503, { detail: 'AI is not configured: set AI_API_KEY' }) });
    await expect(apiStream('/ai/chat/stream', { body: {} })).rejects.toMatchObject({ status: 503, detail: 'AI is not configured: set AI_API_KEY' });
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).not.toBeNull();

    mockFetch({ 'POST /api/v1/ai/chat/stream': () => json(401, { detail: 'Invalid token' }) });
    await expect(apiStream('/ai/chat/stream', { body: {} })).rejects.toMatchObject({ status: 401 });
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBeNull();
  });
});
