/** `POST /api/v1/ai/root-cause?alert_id=N` (no body): the root-cause analysis of one alert. */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { AI_REQUEST_TIMEOUT_MS, apiRequest } from '@/lib/api-client';
import type { RootCauseResponse } from '@/lib/api-types';
import { insightsQueryKey } from './insights';

export function analyseRootCause(alertId: number): Promise<RootCauseResponse> {
  return apiRequest<RootCauseResponse>('/ai/root-cause', {
    method: 'POST',
    query: { alert_id: alertId },
    timeoutMs: AI_REQUEST_TIMEOUT_MS,
  });
}

export function rootCauseMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['ai', 'root-cause'],
    mutationFn: analyseRootCause,
    // Every analysis is stored as an insight.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: insightsQueryKey }),
  });
}

export function useRootCause() {
  const queryClient = useQueryClient();
  return useMutation(rootCauseMutationOptions(queryClient));
}
