/**
 * ECharts options for the host metric charts, built from the API's points by pure functions so the
 * mapping from MetricPoint fields to series is testable without a canvas.
 */
import type { EChartOption } from '@/components/charts/EChart';
import type { MetricPoint } from '@/lib/api-types';
import { formatAxisTime, formatDateTime } from '@/lib/time';
import { formatPercent, formatRateKb } from '@/lib/units';

export type MetricField = Exclude<keyof MetricPoint, 'id' | 'host_id' | 'recorded_at'>;

export interface SeriesSpec {
  field: MetricField;
  name: string;
  color: string;
}

export type ValueKind = 'percent' | 'rate' | 'load';

const VALUE_FORMAT: Record<ValueKind, (value: number) => string> = {
  percent: formatPercent,
  rate: formatRateKb,
  load: (value) => value.toFixed(2),
};

const AXIS_FORMAT: Record<ValueKind, (value: number) => string> = {
  percent: (value) => `${value}%`,
  rate: (value) => formatRateKb(value).replace('.0 ', ' '),
  load: (value) => String(value),
};

/** `[time in ms, value or null]` pairs; a null leaves a gap instead of drawing a false zero. */
export function seriesData(points: MetricPoint[], field: MetricField): [number, number | null][] {
  return points.map((point) => [Date.parse(point.recorded_at), point[field]]);
}

export function metricChartOption(
  points: MetricPoint[],
  series: SeriesSpec[],
  kind: ValueKind,
  spanHours: number,
): EChartOption {
  const format = VALUE_FORMAT[kind];
  const single = series.length === 1;
  return {
    color: series.map((spec) => spec.color),
    grid: { left: 8, right: 16, top: single ? 16 : 36, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'axisLabel' },
    legend: single ? { show: false } : { top: 0, right: 0, icon: 'roundRect', itemWidth: 12, itemHeight: 4 },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'line' },
      valueFormatter: (value) => (typeof value === 'number' ? format(value) : '-'),
      formatter: undefined,
    },
    xAxis: {
      type: 'time',
      axisLabel: {
        hideOverlap: true,
        color: '#8c8c8c',
        formatter: (value: number) => formatAxisTime(new Date(value).toISOString(), spanHours),
      },
      axisLine: { lineStyle: { color: '#d9d9d9' } },
      axisPointer: { label: { formatter: ({ value }) => formatDateTime(new Date(Number(value)).toISOString()) ?? '' } },
    },
    yAxis: {
      type: 'value',
      min: 0,
      max: kind === 'percent' ? 100 : undefined,
      // Percent axes get round quarters; the others let ECharts pick about four steps.
      interval: kind === 'percent' ? 25 : undefined,
      splitNumber: 4,
      axisLabel: { color: '#8c8c8c', formatter: AXIS_FORMAT[kind] },
      splitLine: { lineStyle: { color: '#f0f0f0' } },
    },
    series: series.map((spec) => ({
      type: 'line',
      name: spec.name,
      data: seriesData(points, spec.field),
      showSymbol: false,
      connectNulls: false,
      lineStyle: { width: 1.6 },
      areaStyle: single ? { opacity: 0.12 } : undefined,
      emphasis: { focus: 'series' },
    })),
  };
}
