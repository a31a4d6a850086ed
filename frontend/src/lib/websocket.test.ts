import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, connectReconnectingWebSocket, POLICY_VIOLATION, websocketUrl, type SocketStatus } from './websocket';

/** Stands in for the browser WebSocket: the test opens, feeds and closes it by hand. */
class FakeSocket {
  onopen: (() => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {}
  close(code: number) {
    this.closedWith = code;
  }
  serverSends(data: string) {
    this.onmessage?.({ data } as MessageEvent);
  }
  serverCloses(code: number) {
    this.onclose?.({ code } as CloseEvent);
  }
}

describe('reconnecting WebSocket', () => {
  let sockets: FakeSocket[];
  let statuses: SocketStatus[];
  let messages: unknown[];

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    statuses = [];
    messages = [];
  });
  afterEach(() => vi.useRealTimers());

  const connect = () =>
    connectReconnectingWebSocket({
      path: '/api/v1/ws/dashboard',
      origin: 'https://ops.example.com',
      onMessage: (message) => messages.push(message),
      onStatusChange: (status) => statuses.push(status),
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket as unknown as WebSocket;
      },
    });

  it('builds ws/wss URLs from the page origin', () => {
    expect(websocketUrl('/api/v1/ws/logs', 'http://127.0.0.1:8001', { level: 'ERROR' })).toBe(
      'ws://127.0.0.1:8001/api/v1/ws/logs?level=ERROR',
    );
    expect(websocketUrl('/api/v1/ws/dashboard', 'https://ops.example.com')).toBe('wss://ops.example.com/api/v1/ws/dashboard');
  });

  it('doubles the delay up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, 1000, 30_000))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
  });

  it('parses JSON frames, skips others, and reconnects with backoff after a drop', () => {
    const socket = connect();
    expect(sockets[0]?.url).toBe('wss://ops.example.com/api/v1/ws/dashboard');
    sockets[0]?.onopen?.();
    sockets[0]?.serverSends('{"hosts":{"total":3}}');
    sockets[0]?.serverSends('not json');
    expect(messages).toEqual([{ hosts: { total: 3 } }]);

    sockets[0]?.serverCloses(1006);
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);

    sockets[1]?.serverCloses(1006);
    vi.advanceTimersByTime(1999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);

    // A successful open resets the backoff.
    sockets[2]?.onopen?.();
    sockets[2]?.serverCloses(1006);
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(4);

    socket.close();
    expect(sockets[3]?.closedWith).toBe(1000);
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'reconnecting', 'reconnecting', 'reconnecting', 'open', 'reconnecting', 'reconnecting', 'closed']);
  });

  it('gives up when the server refuses the credential', () => {
    connect();
    sockets[0]?.serverCloses(POLICY_VIOLATION);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toBe('unauthorized');
  });

  it('does not reconnect after close()', () => {
    const socket = connect();
    socket.close();
    sockets[0]?.serverCloses(1000);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });
});
