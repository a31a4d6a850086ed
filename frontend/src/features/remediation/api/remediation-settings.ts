/**
 * `GET /api/v1/remediation-settings` (any role) and `PUT` (admin): the safety switches of
 * auto-remediation. Only `automatic_enabled`, the kill switch, can be changed from the UI; the
 * server refuses the change to anyone but an admin.
 */
import { mutationOptions, queryOptions, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { RemediationSettings, RemediationSettingsUpdate } from '@/lib/api-types';

export const remediationSettingsQueryKey = ['remediation-settings'] as const;

export function fetchRemediationSettings(signal?: AbortSignal): Promise<RemediationSettings> {
  return apiRequest<RemediationSettings>('/remediation-settings', { signal });
}

export function remediationSettingsQueryOptions() {
  return queryOptions({
    queryKey: remediationSettingsQueryKey,
    queryFn: ({ signal }) => fetchRemediationSettings(signal),
  });
}

export function useRemediationSettings() {
  return useQuery(remediationSettingsQueryOptions());
}

export function updateRemediationSettings(body: RemediationSettingsUpdate): Promise<RemediationSettings> {
  return apiRequest<RemediationSettings>('/remediation-settings', { method: 'PUT', body });
}

export function updateRemediationSettingsMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['remediation-settings', 'update'],
    mutationFn: updateRemediationSettings,
    onSuccess: (settings) => queryClient.setQueryData(remediationSettingsQueryKey, settings),
  });
}

export function useUpdateRemediationSettings() {
  const queryClient = useQueryClient();
  return useMutation(updateRemediationSettingsMutationOptions(queryClient));
}
