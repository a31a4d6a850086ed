/**
 * Host counts for the dashboard, read from `GET /api/v1/hosts` totals: one call per status with the
 * smallest page, so no host list is transferred just to be counted. The offline call also brings
 * the first few offline hosts, which the dashboard lists.
 *
 * The `/api/v1/ws/dashboard` push channel will replace this once the server offers it.
 */
import { useQueries } from '@tanstack/react-query';
import { queryOptions } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Host, HostStatus, Page } from '@/lib/api-types';

export const DASHBOARD_POLL_MS = 30_000;
export const OFFLINE_PREVIEW_SIZE = 5;

export function fetchHostPage(status: HostStatus | undefined, pageSize: number, signal?: AbortSignal): Promise<Page<Host>> {
  return apiRequest<Page<Host>>('/hosts', { query: { status, page: 1, page_size: pageSize }, signal });
}

export function hostCountQueryOptions(status: HostStatus | undefined, pageSize = 1) {
  return queryOptions({
    queryKey: ['dashboard', 'hosts', status ?? 'all', pageSize],
    queryFn: ({ signal }) => fetchHostPage(status, pageSize, signal),
    refetchInterval: DASHBOARD_POLL_MS,
  });
}

export interface HostSummary {
  total: number;
  online: number;
  offline: number;
  offlineHosts: Host[];
}

export function useHostSummary() {
  return useQueries({
    queries: [
      hostCountQueryOptions(undefined),
      hostCountQueryOptions('online'),
      hostCountQueryOptions('offline', OFFLINE_PREVIEW_SIZE),
    ],
    combine: ([all, online, offline]) => ({
      data:
        all.data && online.data && offline.data
          ? ({
              total: all.data.total,
              online: online.data.total,
              offline: offline.data.total,
              offlineHosts: offline.data.items,
            } satisfies HostSummary)
          : undefined,
      error: all.error ?? online.error ?? offline.error,
      isPending: all.isPending || online.isPending || offline.isPending,
      refetch: () => Promise.all([all.refetch(), online.refetch(), offline.refetch()]),
    }),
  });
}
