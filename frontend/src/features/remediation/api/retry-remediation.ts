/**
 * `POST /api/v1/remediations/{id}/retry` (operator): a NEW manual run for the alert of a failed,
 * escalated or rejected run. 409 while another run of the alert is in progress.
 */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Remediation } from '@/lib/api-types';
import { remediationQueryKey } from './get-remediation';
import { remediationsQueryKey } from './list-remediations';

export function retryRemediation(id: number): Promise<Remediation> {
  return apiRequest<Remediation>(`/remediations/${id}/retry`, { method: 'POST' });
}

export function retryRemediationMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['remediations', 'retry'],
    mutationFn: retryRemediation,
    onSuccess: (run) => {
      queryClient.setQueryData(remediationQueryKey(run.id), run);
      return queryClient.invalidateQueries({ queryKey: remediationsQueryKey });
    },
  });
}

export function useRetryRemediation() {
  const queryClient = useQueryClient();
  return useMutation(retryRemediationMutationOptions(queryClient));
}
