/** `GET /api/v1/auth/me`: the logged-in user. Reading it also refreshes the stored role. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { CurrentUser } from '@/lib/api-types';
import { hasSession, saveRole } from '@/lib/session';

export const meQueryKey = ['auth', 'me'] as const;

export async function fetchMe(signal?: AbortSignal): Promise<CurrentUser> {
  const user = await apiRequest<CurrentUser>('/auth/me', { signal });
  // A 401 elsewhere may have ended the session while this call was in flight; its answer must
  // not bring the old role back.
  if (hasSession()) saveRole(user.role);
  return user;
}

export function meQueryOptions() {
  return queryOptions({
    queryKey: meQueryKey,
    queryFn: ({ signal }) => fetchMe(signal),
    staleTime: 5 * 60_000,
    enabled: hasSession(),
  });
}

export function useMe() {
  return useQuery(meQueryOptions());
}
