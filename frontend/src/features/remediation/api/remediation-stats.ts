/** `GET /api/v1/remediations/stats`: totals, success rate, mean duration, today's and this week's runs. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { RemediationStats } from '@/lib/api-types';
import { REMEDIATION_LIST_POLL_MS, remediationsQueryKey } from './list-remediations';

export function fetchRemediationStats(signal?: AbortSignal): Promise<RemediationStats> {
  return apiRequest<RemediationStats>('/remediations/stats', { signal });
}

export function remediationStatsQueryOptions() {
  return queryOptions({
    queryKey: [...remediationsQueryKey, 'stats'],
    queryFn: ({ signal }) => fetchRemediationStats(signal),
    refetchInterval: REMEDIATION_LIST_POLL_MS,
  });
}

export function useRemediationStats() {
  return useQuery(remediationStatsQueryOptions());
}
