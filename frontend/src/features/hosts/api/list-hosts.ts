/** `GET /api/v1/hosts`: the paged, filterable host list. */
import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Host, HostListQuery, Page } from '@/lib/api-types';

/** Host status changes within minutes; the list re-reads this often while it is on screen. */
export const HOST_LIST_POLL_MS = 30_000;

export function fetchHosts(query: HostListQuery, signal?: AbortSignal): Promise<Page<Host>> {
  return apiRequest<Page<Host>>('/hosts', { query: { ...query }, signal });
}

export function hostsQueryOptions(query: HostListQuery) {
  return queryOptions({
    queryKey: ['hosts', 'list', query],
    queryFn: ({ signal }) => fetchHosts(query, signal),
    placeholderData: keepPreviousData,
    refetchInterval: HOST_LIST_POLL_MS,
  });
}

export function useHosts(query: HostListQuery) {
  return useQuery(hostsQueryOptions(query));
}
