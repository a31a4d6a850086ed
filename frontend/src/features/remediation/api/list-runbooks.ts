/** `GET /api/v1/runbooks`: every runbook in matching order, and the runbook files refused at start. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { RunbookList } from '@/lib/api-types';

export function fetchRunbooks(signal?: AbortSignal): Promise<RunbookList> {
  return apiRequest<RunbookList>('/runbooks', { signal });
}

export function runbooksQueryOptions() {
  return queryOptions({
    queryKey: ['runbooks'],
    queryFn: ({ signal }) => fetchRunbooks(signal),
  });
}

export function useRunbooks() {
  return useQuery(runbooksQueryOptions());
}
