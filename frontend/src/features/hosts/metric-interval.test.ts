import { describe, expect, it } from 'vitest';
import type { MetricInterval } from '@/lib/api-types';
import { chooseMetricInterval } from './metric-interval';
import { METRIC_RANGES } from './types';

describe('chooseMetricInterval', () => {
  const check = (hours: number, expected: MetricInterval) => expect(chooseMetricInterval(hours)).toBe(expected);

  it('maps each offered range to its interval', () => {
    check(1, 'raw');
    check(6, '5min');
    check(24, '5min');
    check(168, '1h');
    check(720, '1d');
  });

  it('puts the boundaries on the finer side', () => {
    check(2, '5min');
    check(25, '1h');
    check(169, '1d');
  });

  it('keeps every offered range within the server point limits', () => {
    // raw ≤ 1000 points at the agent's 15 s default; aggregated ≤ 500 buckets.
    const bucketHours: Record<MetricInterval, number> = { raw: 15 / 3600, '5min': 5 / 60, '1h': 1, '1d': 24 };
    for (const hours of METRIC_RANGES) {
      const interval = chooseMetricInterval(hours);
      const points = hours / bucketHours[interval];
      expect(points).toBeLessThanOrEqual(interval === 'raw' ? 1000 : 500);
    }
  });
});
