/** `GET /api/v1/hosts/{id}/metrics`: the metric series of one host, oldest first. */
import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { HostMetricsQuery, MetricPoint } from '@/lib/api-types';

/** Short ranges follow new samples; long ones are aggregates that barely move. */
export function metricsPollInterval(hours: number): number | false {
  return hours <= 24 ? 60_000 : false;
}

export function fetchHostMetrics(id: number, query: HostMetricsQuery, signal?: AbortSignal): Promise<MetricPoint[]> {
  return apiRequest<MetricPoint[]>(`/hosts/${id}/metrics`, { query: { ...query }, signal });
}

export function hostMetricsQueryOptions(id: number, query: HostMetricsQuery) {
  return queryOptions({
    queryKey: ['hosts', 'metrics', id, query],
    queryFn: ({ signal }) => fetchHostMetrics(id, query, signal),
    placeholderData: keepPreviousData,
    refetchInterval: metricsPollInterval(query.hours),
  });
}

export function useHostMetrics(id: number, query: HostMetricsQuery) {
  return useQuery(hostMetricsQueryOptions(id, query));
}
