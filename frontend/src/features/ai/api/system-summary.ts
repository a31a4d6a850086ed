/** `GET /api/v1/ai/system-summary`: the few numbers the AI answers are grounded on. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { AiSystemSummary } from '@/lib/api-types';

export const SYSTEM_SUMMARY_POLL_MS = 60_000;

export function fetchSystemSummary(signal?: AbortSignal): Promise<AiSystemSummary> {
  return apiRequest<AiSystemSummary>('/ai/system-summary', { signal });
}

export function systemSummaryQueryOptions() {
  return queryOptions({
    queryKey: ['ai', 'system-summary'],
    queryFn: ({ signal }) => fetchSystemSummary(signal),
    refetchInterval: SYSTEM_SUMMARY_POLL_MS,
  });
}

export function useSystemSummary() {
  return useQuery(systemSummaryQueryOptions());
}
