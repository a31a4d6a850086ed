/**
 * `POST /api/v1/ai/analyze-logs`: the recent logs clustered into patterns (always), with the model's
 * reading of them when a model is configured (`success` false and `error` set otherwise).
 */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { AI_REQUEST_TIMEOUT_MS, apiRequest } from '@/lib/api-client';
import type { AnalyzeLogsRequest, AnalyzeLogsResponse } from '@/lib/api-types';
import { insightsQueryKey } from './insights';

export function analyzeLogs(body: AnalyzeLogsRequest): Promise<AnalyzeLogsResponse> {
  return apiRequest<AnalyzeLogsResponse>('/ai/analyze-logs', { method: 'POST', body, timeoutMs: AI_REQUEST_TIMEOUT_MS });
}

export function analyzeLogsMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['ai', 'analyze-logs'],
    mutationFn: analyzeLogs,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: insightsQueryKey }),
  });
}

export function useAnalyzeLogs() {
  const queryClient = useQueryClient();
  return useMutation(analyzeLogsMutationOptions(queryClient));
}
