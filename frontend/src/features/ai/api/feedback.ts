/** `POST /api/v1/ai/insights/{id}/feedback`: an operator's verdict on an analysis; returns the insight. */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { FeedbackRequest, Insight } from '@/lib/api-types';
import { insightQueryKey, insightsQueryKey } from './insights';

export function sendFeedback({ insightId, ...body }: FeedbackRequest & { insightId: number }): Promise<Insight> {
  return apiRequest<Insight>(`/ai/insights/${insightId}/feedback`, { method: 'POST', body });
}

export function feedbackMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['ai', 'feedback'],
    mutationFn: sendFeedback,
    onSuccess: (insight) => {
      queryClient.setQueryData(insightQueryKey(insight.id), insight);
      return queryClient.invalidateQueries({ queryKey: insightsQueryKey });
    },
  });
}

export function useFeedback() {
  const queryClient = useQueryClient();
  return useMutation(feedbackMutationOptions(queryClient));
}
