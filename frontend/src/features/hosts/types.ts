/** UI-side types of the hosts area (wire types live in `lib/api-types.ts`). */

/** The time ranges offered above the host charts, in hours. */
export const METRIC_RANGES = [1, 6, 24, 168, 720] as const;
export type MetricRangeHours = (typeof METRIC_RANGES)[number];
export const DEFAULT_METRIC_RANGE: MetricRangeHours = 1;

export const HOST_PAGE_SIZES = [10, 20, 50, 100] as const;
export const DEFAULT_HOST_PAGE_SIZE = 20;
