/** The logged-in user's role: from `/auth/me` once loaded, from localStorage before that. */
import { useMe } from '@/features/auth/api/me';
import type { Role } from '@/lib/api-types';
import { getStoredRole } from '@/lib/session';

export function useCurrentRole(): Role | null {
  const { data: user } = useMe();
  return user?.role ?? getStoredRole();
}
