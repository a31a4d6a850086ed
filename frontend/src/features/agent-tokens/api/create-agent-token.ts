/**
 * `POST /api/v1/agent-tokens` (admin): the response is the only place the plaintext token ever
 * appears. It is handed to the caller and deliberately NOT written into the query cache, and the
 * mutation is forgotten at once (`gcTime: 0`), so it is gone once the dialog that shows it closes.
 */
import { mutationOptions, useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { CreateAgentTokenRequest, CreatedAgentToken } from '@/lib/api-types';
import { agentTokensQueryKey } from './list-agent-tokens';

export function createAgentToken(body: CreateAgentTokenRequest): Promise<CreatedAgentToken> {
  return apiRequest<CreatedAgentToken>('/agent-tokens', { method: 'POST', body });
}

export function createAgentTokenMutationOptions(queryClient: QueryClient) {
  return mutationOptions({
    mutationKey: ['agent-tokens', 'create'],
    mutationFn: createAgentToken,
    // Drop the finished mutation (and the plaintext in its result) as soon as nothing observes it.
    gcTime: 0,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: agentTokensQueryKey }),
  });
}

export function useCreateAgentToken() {
  const queryClient = useQueryClient();
  return useMutation(createAgentTokenMutationOptions(queryClient));
}
