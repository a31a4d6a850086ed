/**
 * `GET /api/v1/remediations/{id}`: one run with its whole log. While the run is not in a terminal
 * status it is re-read every 2 s, so the log fills in as the commands come back.
 */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Remediation } from '@/lib/api-types';
import { isTerminalStatus } from '../remediation-log';
import { remediationsQueryKey } from './list-remediations';

export const REMEDIATION_POLL_MS = 2_000;

export function remediationQueryKey(id: number) {
  return [...remediationsQueryKey, 'detail', id] as const;
}

export function fetchRemediation(id: number, signal?: AbortSignal): Promise<Remediation> {
  return apiRequest<Remediation>(`/remediations/${id}`, { signal });
}

/** The poll interval for a run in this state: none once it is final (or failed to load). */
export function remediationPollInterval(run: Remediation | undefined): number | false {
  if (!run) return false;
  return isTerminalStatus(run.status) ? false : REMEDIATION_POLL_MS;
}

export function remediationQueryOptions(id: number) {
  return queryOptions({
    queryKey: remediationQueryKey(id),
    queryFn: ({ signal }) => fetchRemediation(id, signal),
    refetchInterval: (query) => remediationPollInterval(query.state.data),
    // A run in progress is never "fresh": coming back to it should show where it is now.
    staleTime: 0,
  });
}

export function useRemediation(id: number) {
  return useQuery(remediationQueryOptions(id));
}
