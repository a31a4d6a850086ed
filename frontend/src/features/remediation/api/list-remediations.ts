/** `GET /api/v1/remediations`: the paged, filterable run list, newest first. */
import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Page, Remediation, RemediationListQuery } from '@/lib/api-types';

/** Everything under this key is remediation data, invalidated together after an action. */
export const remediationsQueryKey = ['remediations'] as const;

/** Runs move on their own (the flow runs server-side); the list re-reads this often while shown. */
export const REMEDIATION_LIST_POLL_MS = 10_000;

export function fetchRemediations(query: RemediationListQuery, signal?: AbortSignal): Promise<Page<Remediation>> {
  return apiRequest<Page<Remediation>>('/remediations', { query: { ...query }, signal });
}

export function remediationsQueryOptions(query: RemediationListQuery) {
  return queryOptions({
    queryKey: [...remediationsQueryKey, 'list', query],
    queryFn: ({ signal }) => fetchRemediations(query, signal),
    placeholderData: keepPreviousData,
    refetchInterval: REMEDIATION_LIST_POLL_MS,
  });
}

export function useRemediations(query: RemediationListQuery) {
  return useQuery(remediationsQueryOptions(query));
}
