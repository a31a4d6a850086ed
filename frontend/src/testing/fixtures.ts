/** Realistic API answers for tests, shaped as rest-api.md describes them. */
import type { AgentToken, CurrentUser, Health, Host, Page, Role, TokenPair } from '@/lib/api-types';
import { ACCESS_TOKEN_KEY, REFRESH_TOKEN_KEY, USER_ROLE_KEY } from '@/lib/session';
import { json, type MockHandler } from './fetch-mock';

export const tokenPair: TokenPair = {
  access_token: 'header.access-payload.signature',
  refresh_token: 'header.refresh-payload.signature',
  token_type: 'bearer',
};

export function user(role: Role): CurrentUser {
  return { id: 1, email: `${role}@example.com`, name: `Ada ${role}`, role, is_active: true, created_at: '2026-11-01T08:00:00Z' };
}

export const health: Health = {
  status: 'ok',
  checks: { api: 'ok', database: 'ok', redis: 'disabled' },
  timestamp: '2026-11-27T02:00:00Z',
};

export function host(id: number, overrides: Partial<Host> = {}): Host {
  return {
    id,
    hostname: `web-${String(id).padStart(2, '0')}`,
    ip_address: `10.0.0.${id}`,
    os: 'Ubuntu',
    os_version: '24.04',
    arch: 'x86_64',
    cpu_cores: 4,
    memory_total_mb: 16384,
    agent_version: '0.2.5',
    status: 'online',
    tags: null,
    group_name: null,
    last_heartbeat: new Date(Date.now() - 30_000).toISOString(),
    created_at: '2026-11-01T08:00:00Z',
    updated_at: '2026-11-27T02:00:00Z',
    latest_metrics: { cpu_percent: 12.5, memory_percent: 48.2, disk_percent: 71.3, recorded_at: '2026-11-27T02:00:00Z' },
    ...overrides,
  };
}

export function page<T>(items: T[], total = items.length, pageNumber = 1, pageSize = 20): Page<T> {
  return { items, total, page: pageNumber, page_size: pageSize };
}

export function agentToken(id: number, overrides: Partial<AgentToken> = {}): AgentToken {
  return {
    id,
    name: `token-${id}`,
    token_prefix: 'vop_ab12',
    is_active: true,
    created_by: 1,
    created_at: '2026-11-20T08:00:00Z',
    last_used_at: null,
    ...overrides,
  };
}

/** Puts a logged-in session of this role in localStorage, as a previous login would have. */
export function signIn(role: Role): void {
  localStorage.setItem(ACCESS_TOKEN_KEY, tokenPair.access_token);
  localStorage.setItem(REFRESH_TOKEN_KEY, tokenPair.refresh_token);
  localStorage.setItem(USER_ROLE_KEY, role);
}

/** The calls every console page makes: who am I, is the server healthy, and the dashboard's hosts. */
export function consoleRoutes(role: Role, hosts: Host[] = [host(1)]): Record<string, MockHandler> {
  return {
    'GET /api/v1/auth/me': () => json(200, user(role)),
    'GET /api/v1/health': () => json(200, health),
    'GET /api/v1/hosts': ({ url }) => {
      const status = url.searchParams.get('status');
      const items = hosts.filter((h) => !status || h.status === status);
      return json(200, page(items));
    },
  };
}
