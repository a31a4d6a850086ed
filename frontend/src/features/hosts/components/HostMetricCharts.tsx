/** The five metric charts of a host over one time range. */
import { Card, Col, Empty, Row } from 'antd';
import { EChart } from '@/components/charts/EChart';
import type { MetricPoint } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import type { MessageKey } from '@/i18n/zh-CN';
import { metricChartOption, type SeriesSpec, type ValueKind } from './metric-chart-options';

const BLUE = '#1677ff';
const GREEN = '#52c41a';
const PURPLE = '#722ed1';
const ORANGE = '#fa8c16';
const CYAN = '#13c2c2';

interface ChartSpec {
  key: string;
  title: MessageKey;
  kind: ValueKind;
  series: { field: SeriesSpec['field']; name: MessageKey; color: string }[];
}

const CHARTS: ChartSpec[] = [
  { key: 'cpu', title: 'hostDetail.chart.cpu', kind: 'percent', series: [{ field: 'cpu_percent', name: 'hostDetail.series.cpu', color: BLUE }] },
  {
    key: 'memory',
    title: 'hostDetail.chart.memory',
    kind: 'percent',
    series: [{ field: 'memory_percent', name: 'hostDetail.series.memory', color: PURPLE }],
  },
  { key: 'disk', title: 'hostDetail.chart.disk', kind: 'percent', series: [{ field: 'disk_percent', name: 'hostDetail.series.disk', color: ORANGE }] },
  {
    key: 'network',
    title: 'hostDetail.chart.network',
    kind: 'rate',
    series: [
      { field: 'net_recv_rate_kb', name: 'hostDetail.series.recv', color: GREEN },
      { field: 'net_send_rate_kb', name: 'hostDetail.series.send', color: BLUE },
    ],
  },
  {
    key: 'load',
    title: 'hostDetail.chart.load',
    kind: 'load',
    series: [
      { field: 'cpu_load_1', name: 'hostDetail.series.load1', color: BLUE },
      { field: 'cpu_load_5', name: 'hostDetail.series.load5', color: CYAN },
      { field: 'cpu_load_15', name: 'hostDetail.series.load15', color: PURPLE },
    ],
  },
];

export function HostMetricCharts({ points, hours, loading }: { points: MetricPoint[]; hours: number; loading: boolean }) {
  const { t } = useI18n();

  if (!loading && points.length === 0) {
    return (
      <Card>
        <Empty description={t('hostDetail.noData')} />
      </Card>
    );
  }

  return (
    <Row gutter={[16, 16]}>
      {CHARTS.map((chart) => (
        <Col key={chart.key} xs={24} xl={chart.key === 'load' ? 24 : 12}>
          <Card title={t(chart.title)} size="small" styles={{ body: { padding: '12px 16px' } }}>
            <EChart
              ariaLabel={t(chart.title)}
              loading={loading}
              height={240}
              option={metricChartOption(
                points,
                chart.series.map((spec) => ({ field: spec.field, name: t(spec.name), color: spec.color })),
                chart.kind,
                hours,
              )}
            />
          </Card>
        </Col>
      ))}
    </Row>
  );
}
