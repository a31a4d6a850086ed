/** Starting and ending a session: store the tokens and role, or clear them and every cached query. */
import { useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import type { TokenPair } from '@/lib/api-types';
import { clearSession, saveTokens } from '@/lib/session';
import { fetchMe, meQueryKey } from '../api/me';

/** Stores the token pair, then loads the user (which stores the role) before the caller navigates. */
export function useStartSession(): (tokens: TokenPair) => Promise<void> {
  const queryClient = useQueryClient();
  return useCallback(
    async (tokens: TokenPair) => {
      queryClient.clear();
      saveTokens(tokens);
      const user = await fetchMe();
      queryClient.setQueryData(meQueryKey, user);
    },
    [queryClient],
  );
}

export function useEndSession(): () => void {
  const queryClient = useQueryClient();
  return useCallback(() => {
    clearSession();
    queryClient.clear();
  }, [queryClient]);
}
