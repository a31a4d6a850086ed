/**
 * Which aggregation to ask `GET /hosts/{id}/metrics` for, given the range shown.
 *
 * The server returns at most 1000 raw points and 500 buckets, so the bucket must grow with the
 * range: 1 h of 15 s samples is 240 raw points; 24 h in 5 min buckets is 288; 7 d in hourly
 * buckets is 168; 30 d in daily buckets is 30.
 */
import type { MetricInterval } from '@/lib/api-types';

export function chooseMetricInterval(hours: number): MetricInterval {
  if (hours <= 1) return 'raw';
  if (hours <= 24) return '5min';
  if (hours <= 7 * 24) return '1h';
  return '1d';
}
