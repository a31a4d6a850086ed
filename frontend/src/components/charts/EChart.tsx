/**
 * The ONLY ECharts wrapper of the SPA. ECharts is imported piecemeal: register a chart or component
 * type here before an option uses it, and never import `echarts` (the full build, ~650 KB gzipped)
 * or `echarts-for-react/lib/*` (its CommonJS build breaks the production bundle) anywhere.
 */
import type { CSSProperties } from 'react';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { LineChart, PieChart, type LineSeriesOption, type PieSeriesOption } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  TooltipComponent,
  type GridComponentOption,
  type LegendComponentOption,
  type TooltipComponentOption,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** The option type of the registered parts, so an option using anything else fails to compile. */
export type EChartOption = echarts.ComposeOption<
  LineSeriesOption | PieSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption
>;

export interface EChartProps {
  option: EChartOption;
  height?: number;
  loading?: boolean;
  style?: CSSProperties;
  /** Accessible name of the chart. */
  ariaLabel?: string;
}

export function EChart({ option, height = 260, loading = false, style, ariaLabel }: EChartProps) {
  return (
    <div role="img" aria-label={ariaLabel}>
      <ReactEChartsCore
        echarts={echarts}
        option={option}
        notMerge
        lazyUpdate
        showLoading={loading}
        loadingOption={{ text: '', color: '#1677ff', maskColor: 'rgba(255, 255, 255, 0.6)' }}
        style={{ height, width: '100%', ...style }}
      />
    </div>
  );
}
