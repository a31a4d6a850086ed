/**
 * Who may see what. A route names the minimum role it needs; roles are ordered
 * viewer < operator < admin, as on the server (rest-api.md §1.1). The server enforces the same rule
 * on every call: hiding a menu entry is a convenience, not the protection.
 */
import type { Role } from '@/lib/api-types';

export type Access = Role;

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function canAccess(role: Role | null | undefined, required: Access): boolean {
  // Until the role is known, act as the least privileged user.
  return RANK[role ?? 'viewer'] >= RANK[required];
}
