/**
 * The browser session: the JWT pair and the role, kept in `localStorage` under the same keys the
 * original VigilOps web client uses, so a user switching between the two clients stays logged in.
 */
import type { Role, TokenPair } from './api-types';

export const ACCESS_TOKEN_KEY = 'access_token';
export const REFRESH_TOKEN_KEY = 'refresh_token';
export const USER_ROLE_KEY = 'user_role';

const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

export function getAccessToken(): string | null {
  return localStorage.getItem(ACCESS_TOKEN_KEY);
}

export function hasSession(): boolean {
  return getAccessToken() !== null;
}

export function saveTokens(tokens: TokenPair): void {
  localStorage.setItem(ACCESS_TOKEN_KEY, tokens.access_token);
  localStorage.setItem(REFRESH_TOKEN_KEY, tokens.refresh_token);
}

export function saveRole(role: Role): void {
  localStorage.setItem(USER_ROLE_KEY, role);
}

/** The stored role, or `null` when absent or not one of the three known roles. */
export function getStoredRole(): Role | null {
  const raw = localStorage.getItem(USER_ROLE_KEY);
  return ROLES.find((role) => role === raw) ?? null;
}

export function clearSession(): void {
  localStorage.removeItem(ACCESS_TOKEN_KEY);
  localStorage.removeItem(REFRESH_TOKEN_KEY);
  localStorage.removeItem(USER_ROLE_KEY);
}
