/**
 * The one reconnecting WebSocket of the SPA, for the server's push channels
 * (`/api/v1/ws/dashboard`, `/api/v1/ws/logs`).
 *
 * It reconnects with exponential backoff after any unexpected close, and gives up only when the
 * server refuses the credential (close code 1008), because retrying cannot fix that.
 * The server authenticates the upgrade with the `vigilops_session` cookie set at login, or with a
 * `token` query parameter when the caller passes one.
 */

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'closed';

/** The WebSocket close code the server uses for a missing or invalid credential. */
export const POLICY_VIOLATION = 1008;

export interface ReconnectingSocketOptions {
  /** A path such as `/api/v1/ws/dashboard`, resolved against the page's origin. */
  path: string;
  query?: Record<string, string>;
  /** Called with each text frame parsed as JSON; frames that are not JSON are skipped. */
  onMessage: (message: unknown) => void;
  onStatusChange?: (status: SocketStatus) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Replaced in tests. */
  createSocket?: (url: string) => WebSocket;
  /** The origin to resolve `path` against; the page's own by default. */
  origin?: string;
}

export interface ReconnectingSocket {
  /** Closes the socket for good; no reconnect follows. */
  close: () => void;
}

/** `http(s)://host` + path → `ws(s)://host/path?query`. */
export function websocketUrl(path: string, origin: string, query: Record<string, string> = {}): string {
  const url = new URL(path, origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}

/** Delay before reconnect attempt `attempt` (0-based): min · 2^attempt, capped at max. */
export function backoffDelay(attempt: number, minDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
}

export function connectReconnectingWebSocket(options: ReconnectingSocketOptions): ReconnectingSocket {
  const {
    path,
    query,
    onMessage,
    onStatusChange,
    minDelayMs = 1_000,
    maxDelayMs = 30_000,
    createSocket = (url) => new WebSocket(url),
    origin = window.location.origin,
  } = options;
  const url = websocketUrl(path, origin, query);

  let socket: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;
  let stopped = false;

  const open = () => {
    onStatusChange?.(attempt === 0 ? 'connecting' : 'reconnecting');
    const current = createSocket(url);
    socket = current;
    current.onopen = () => {
      attempt = 0;
      onStatusChange?.('open');
    };
    current.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(message);
    };
    current.onclose = (event: CloseEvent) => {
      socket = null;
      if (stopped) return;
      if (event.code === POLICY_VIOLATION) {
        stopped = true;
        onStatusChange?.('unauthorized');
        return;
      }
      const delay = backoffDelay(attempt, minDelayMs, maxDelayMs);
      attempt += 1;
      onStatusChange?.('reconnecting');
      timer = setTimeout(open, delay);
    };
  };

  open();

  return {
    close: () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      socket?.close(1000);
      socket = null;
      onStatusChange?.('closed');
    },
  };
}
