/** `GET /api/v1/agent-tokens` (admin): every token, newest first, never with its plaintext. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { AgentToken } from '@/lib/api-types';

export const agentTokensQueryKey = ['agent-tokens'] as const;

export function fetchAgentTokens(signal?: AbortSignal): Promise<AgentToken[]> {
  return apiRequest<AgentToken[]>('/agent-tokens', { signal });
}

export function agentTokensQueryOptions() {
  return queryOptions({
    queryKey: agentTokensQueryKey,
    queryFn: ({ signal }) => fetchAgentTokens(signal),
  });
}

export function useAgentTokens() {
  return useQuery(agentTokensQueryOptions());
}
