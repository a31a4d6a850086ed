/** `DELETE /api/v1/agent-tokens/{id}` (admin): a soft revoke; the row stays, inactive. */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import { agentTokensQueryKey } from './list-agent-tokens';

export function revokeAgentToken(id: number): Promise<void> {
  return apiRequest<void>(`/agent-tokens/${id}`, { method: 'DELETE' });
}

export function revokeAgentTokenMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['agent-tokens', 'revoke'],
    mutationFn: revokeAgentToken,
    onSettled: () => queryClient.invalidateQueries({ queryKey: agentTokensQueryKey }),
  });
}

export function useRevokeAgentToken() {
  const queryClient = useQueryClient();
  return useMutation(revokeAgentTokenMutationOptions(queryClient));
}
