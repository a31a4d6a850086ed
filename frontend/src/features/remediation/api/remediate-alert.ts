/**
 * `POST /api/v1/alerts/{id}/remediate` (operator): starts a manual run for an alert. 404 for an
 * unknown alert, 409 while another run of the alert is in progress.
 */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Remediation } from '@/lib/api-types';
import { remediationQueryKey } from './get-remediation';
import { remediationsQueryKey } from './list-remediations';

export function remediateAlert(alertId: number): Promise<Remediation> {
  return apiRequest<Remediation>(`/alerts/${alertId}/remediate`, { method: 'POST' });
}

export function remediateAlertMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['remediations', 'start'],
    mutationFn: remediateAlert,
    onSuccess: (run) => {
      queryClient.setQueryData(remediationQueryKey(run.id), run);
      return queryClient.invalidateQueries({ queryKey: remediationsQueryKey });
    },
  });
}

export function useRemediateAlert() {
  const queryClient = useQueryClient();
  return useMutation(remediateAlertMutationOptions(queryClient));
}
