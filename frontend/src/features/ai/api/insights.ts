/** `GET /api/v1/ai/insights` (paged, filterable) and `GET /api/v1/ai/insights/{id}`. */
import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Insight, InsightListQuery, Page } from '@/lib/api-types';

export const insightsQueryKey = ['ai', 'insights'] as const;

export function insightQueryKey(id: number) {
  return [...insightsQueryKey, 'detail', id] as const;
}

export function fetchInsights(query: InsightListQuery, signal?: AbortSignal): Promise<Page<Insight>> {
  return apiRequest<Page<Insight>>('/ai/insights', { query: { ...query }, signal });
}

export function insightsQueryOptions(query: InsightListQuery) {
  return queryOptions({
    queryKey: [...insightsQueryKey, 'list', query],
    queryFn: ({ signal }) => fetchInsights(query, signal),
    placeholderData: keepPreviousData,
  });
}

export function useInsights(query: InsightListQuery) {
  return useQuery(insightsQueryOptions(query));
}

export function fetchInsight(id: number, signal?: AbortSignal): Promise<Insight> {
  return apiRequest<Insight>(`/ai/insights/${id}`, { signal });
}

export function insightQueryOptions(id: number) {
  return queryOptions({
    queryKey: insightQueryKey(id),
    queryFn: ({ signal }) => fetchInsight(id, signal),
  });
}

export function useInsight(id: number | null) {
  return useQuery({ ...insightQueryOptions(id ?? 0), enabled: id !== null });
}
