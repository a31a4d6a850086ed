/** `GET /api/v1/ai/memory?q=…&limit=…`: similar past incidents and what they add up to. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { MemorySearchResponse } from '@/lib/api-types';

export const MEMORY_SEARCH_LIMIT = 10;

export function searchMemory(q: string, limit = MEMORY_SEARCH_LIMIT, signal?: AbortSignal): Promise<MemorySearchResponse> {
  return apiRequest<MemorySearchResponse>('/ai/memory', { query: { q, limit }, signal });
}

export function memorySearchQueryOptions(q: string, limit = MEMORY_SEARCH_LIMIT) {
  return queryOptions({
    queryKey: ['ai', 'memory', q, limit],
    queryFn: ({ signal }) => searchMemory(q, limit, signal),
  });
}

/** Searches only once there is a query. */
export function useMemorySearch(q: string) {
  return useQuery({ ...memorySearchQueryOptions(q), enabled: q.trim() !== '' });
}
