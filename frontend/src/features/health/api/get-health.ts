/** `GET /api/v1/health`: liveness of the server and its database and Redis; needs no login. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Health } from '@/lib/api-types';

export const HEALTH_POLL_MS = 30_000;

export function fetchHealth(signal?: AbortSignal): Promise<Health> {
  return apiRequest<Health>('/health', { signal, session: false });
}

export function healthQueryOptions() {
  return queryOptions({
    queryKey: ['health'],
    queryFn: ({ signal }) => fetchHealth(signal),
    refetchInterval: HEALTH_POLL_MS,
    // A failed health check is the answer itself ("unreachable"); retrying only delays it.
    retry: false,
  });
}

export function useHealth() {
  return useQuery(healthQueryOptions());
}
