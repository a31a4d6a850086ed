/** The few numbers the AI answers are grounded on, in one strip above the panels. */
import { Alert, Card, Col, Row, Skeleton, Statistic } from 'antd';
import { useDescribeError } from '@/components/api-error';
import { useI18n } from '@/i18n/i18n';
import { useSystemSummary } from '../api/system-summary';

export function SystemSummaryStrip() {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const { data, error, isPending } = useSystemSummary();

  if (error && !data) {
    return <Alert type="warning" showIcon title={t('ai.summary.failed')} description={describeError(error)} />;
  }
  if (isPending || !data) {
    return (
      <Card size="small">
        <Skeleton active paragraph={{ rows: 1 }} />
      </Card>
    );
  }
  const stats = [
    { key: 'hosts', title: t('ai.summary.hosts'), value: data.hosts.online, suffix: `/ ${data.hosts.total}` },
    { key: 'services', title: t('ai.summary.services'), value: data.services.up, suffix: `/ ${data.services.total}` },
    { key: 'alerts', title: t('ai.summary.alerts'), value: data.recent_1h.alert_count },
    { key: 'errors', title: t('ai.summary.errorLogs'), value: data.recent_1h.error_log_count },
    { key: 'cpu', title: t('ai.summary.cpu'), value: data.avg_usage.cpu_percent, suffix: '%' },
    { key: 'memory', title: t('ai.summary.memory'), value: data.avg_usage.memory_percent, suffix: '%' },
  ];
  return (
    <Card size="small" data-testid="system-summary">
      <Row gutter={[16, 8]}>
        {stats.map((stat) => (
          <Col key={stat.key} xs={12} md={8} xl={4}>
            <Statistic title={stat.title} value={stat.value} suffix={stat.suffix} styles={{ content: { fontSize: 20 } }} />
          </Col>
        ))}
      </Row>
    </Card>
  );
}
