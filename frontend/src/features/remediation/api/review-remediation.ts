/**
 * `POST /api/v1/remediations/{id}/approve` and `/reject` (operator): decide on a run waiting for
 * approval, with an optional comment for the audit trail. Both answer the updated run.
 */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Remediation } from '@/lib/api-types';
import { remediationQueryKey } from './get-remediation';
import { remediationsQueryKey } from './list-remediations';

export type ReviewDecision = 'approve' | 'reject';

export interface ReviewVariables {
  id: number;
  decision: ReviewDecision;
  comment?: string;
}

export function reviewRemediation({ id, decision, comment }: ReviewVariables): Promise<Remediation> {
  const trimmed = comment?.trim();
  return apiRequest<Remediation>(`/remediations/${id}/${decision}`, {
    method: 'POST',
    body: trimmed ? { comment: trimmed } : {},
  });
}

export function reviewRemediationMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['remediations', 'review'],
    mutationFn: reviewRemediation,
    onSuccess: (run) => {
      queryClient.setQueryData(remediationQueryKey(run.id), run);
      return queryClient.invalidateQueries({ queryKey: remediationsQueryKey });
    },
  });
}

export function useReviewRemediation() {
  const queryClient = useQueryClient();
  return useMutation(reviewRemediationMutationOptions(queryClient));
}
