/** `GET /api/v1/hosts/{id}`: one host with its latest metrics snapshot. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Host } from '@/lib/api-types';

export const HOST_POLL_MS = 30_000;

export function fetchHost(id: number, signal?: AbortSignal): Promise<Host> {
  return apiRequest<Host>(`/hosts/${id}`, { signal });
}

export function hostQueryOptions(id: number) {
  return queryOptions({
    queryKey: ['hosts', 'detail', id],
    queryFn: ({ signal }) => fetchHost(id, signal),
    refetchInterval: HOST_POLL_MS,
  });
}

export function useHost(id: number) {
  return useQuery(hostQueryOptions(id));
}
