/** The numbers above the run list: totals, success rate, runs waiting, mean duration, today and this week. */
import { Card, Col, Row, Statistic, Typography } from 'antd';
import { useDescribeError } from '@/components/api-error';
import { useI18n } from '@/i18n/i18n';
import { useRemediationStats } from '../api/remediation-stats';
import { formatDuration } from '../remediation-log';

export function RemediationStatsCards() {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const { data, error, isPending } = useRemediationStats();

  if (error && !data) {
    return (
      <Card size="small" data-testid="remediation-stats">
        <Typography.Text type="warning">{describeError(error)}</Typography.Text>
      </Card>
    );
  }

  const cards = [
    { key: 'total', title: t('remediation.stats.total'), value: data?.total ?? 0, extra: data ? t('remediation.stats.outcomes', { success: data.success, failed: data.failed }) : null },
    {
      key: 'rate',
      title: t('remediation.stats.successRate'),
      value: data ? `${data.success_rate.toFixed(1)}%` : '-',
      color: data && data.total > 0 ? (data.success_rate >= 80 ? '#389e0d' : data.success_rate >= 50 ? '#d48806' : '#cf1322') : undefined,
    },
    { key: 'pending', title: t('remediation.stats.pending'), value: data?.pending ?? 0, color: data && data.pending > 0 ? '#d48806' : undefined },
    { key: 'duration', title: t('remediation.stats.avgDuration'), value: formatDuration(data?.avg_duration_seconds) },
    { key: 'today', title: t('remediation.stats.today'), value: data?.today_count ?? 0, extra: data ? t('remediation.stats.week', { count: data.week_count }) : null },
  ];

  return (
    <Row gutter={[16, 16]} data-testid="remediation-stats">
      {cards.map((card) => (
        <Col key={card.key} xs={12} md={8} xl={24 / 5} style={{ flex: '1 1 0' }}>
          <Card size="small" loading={isPending} style={{ height: '100%' }}>
            <Statistic title={card.title} value={card.value} styles={{ content: { fontSize: 22, ...(card.color ? { color: card.color } : {}) } }} />
            {card.extra ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {card.extra}
              </Typography.Text>
            ) : null}
          </Card>
        </Col>
      ))}
    </Row>
  );
}
