/** `/hosts/:id`: a host's facts, its current usage and its metric charts over a chosen range. */
import { ReloadOutlined } from '@ant-design/icons';
import { Button, Card, Col, Descriptions, Flex, Result, Row, Segmented, Skeleton, Statistic, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { PageContainer } from '@/components/PageContainer';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { RelativeTime } from '@/components/RelativeTime';
import { usageColor } from '@/components/usage-color';
import { isApiError } from '@/lib/api-client';
import type { Host } from '@/lib/api-types';
import { formatDateTime } from '@/lib/time';
import { formatMegabytes } from '@/lib/units';
import { useI18n } from '@/i18n/i18n';
import { useHost } from '../api/get-host';
import { useHostMetrics } from '../api/get-host-metrics';
import { chooseMetricInterval } from '../metric-interval';
import { DEFAULT_METRIC_RANGE, METRIC_RANGES, type MetricRangeHours } from '../types';
import { HostMetricCharts } from './HostMetricCharts';
import { HostStatusTag } from './HostStatusTag';

function UsageStat({ title, percent, hint }: { title: string; percent: number | undefined; hint?: string }) {
  return (
    <Card size="small" styles={{ body: { padding: '16px 20px' } }}>
      <Statistic
        title={title}
        value={percent ?? '-'}
        precision={percent === undefined ? undefined : 1}
        suffix={percent === undefined ? undefined : '%'}
        styles={{ content: { color: percent === undefined ? undefined : usageColor(percent) } }}
      />
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {hint ?? '\u00a0'}
      </Typography.Text>
    </Card>
  );
}

function HostFacts({ host }: { host: Host }) {
  const { t } = useI18n();
  const items = [
    { key: 'hostname', label: t('hostDetail.field.hostname'), children: host.hostname },
    { key: 'ip', label: t('hostDetail.field.ip'), children: host.ip_address ?? '-' },
    ...(host.private_ip ? [{ key: 'private', label: t('hostDetail.field.privateIp'), children: host.private_ip }] : []),
    ...(host.public_ip ? [{ key: 'public', label: t('hostDetail.field.publicIp'), children: host.public_ip }] : []),
    { key: 'os', label: t('hostDetail.field.os'), children: [host.os, host.os_version].filter(Boolean).join(' ') || '-' },
    { key: 'arch', label: t('hostDetail.field.arch'), children: host.arch ?? '-' },
    { key: 'cores', label: t('hostDetail.field.cpuCores'), children: host.cpu_cores ?? '-' },
    { key: 'memory', label: t('hostDetail.field.memory'), children: formatMegabytes(host.memory_total_mb) },
    { key: 'agent', label: t('hostDetail.field.agent'), children: host.agent_version ?? '-' },
    { key: 'group', label: t('hostDetail.field.group'), children: host.group_name ?? '-' },
    {
      key: 'heartbeat',
      label: t('hostDetail.field.lastHeartbeat'),
      children: <RelativeTime value={host.last_heartbeat} fallback={t('hosts.never')} />,
    },
    { key: 'created', label: t('hostDetail.field.createdAt'), children: formatDateTime(host.created_at) ?? '-' },
  ];
  return (
    <Card title={t('hostDetail.info')} size="small">
      <Descriptions size="small" column={{ xs: 1, sm: 2, lg: 3, xxl: 4 }} items={items} />
    </Card>
  );
}

function HostNotFound() {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <Result
      status="404"
      title={t('hostDetail.notFound')}
      extra={<Button onClick={() => navigate('/hosts')}>{t('common.back')}</Button>}
    />
  );
}

export function HostDetailPage() {
  const params = useParams();
  const id = Number(params.id);
  return Number.isInteger(id) && id > 0 ? <HostDetail key={id} id={id} /> : <HostNotFound />;
}

function HostDetail({ id }: { id: number }) {
  const { t } = useI18n();
  const [hours, setHours] = useState<MetricRangeHours>(DEFAULT_METRIC_RANGE);
  const interval = chooseMetricInterval(hours);

  const host = useHost(id);
  const metrics = useHostMetrics(id, { hours, interval });

  if (isApiError(host.error) && host.error.status === 404) return <HostNotFound />;

  const latest = host.data?.latest_metrics;
  const title = host.data ? host.data.display_name || host.data.hostname : t('menu.hosts');

  return (
    <PageContainer
      backTo="/hosts"
      documentTitle={title}
      title={
        <Flex align="center" gap={12}>
          <span>{title}</span>
          {host.data ? <HostStatusTag status={host.data.status} /> : null}
        </Flex>
      }
      subtitle={host.data?.ip_address ?? undefined}
      extra={
        <Button
          icon={<ReloadOutlined />}
          loading={host.isFetching || metrics.isFetching}
          onClick={() => {
            void host.refetch();
            void metrics.refetch();
          }}
        >
          {t('common.refresh')}
        </Button>
      }
    >
      {host.error && !host.data ? (
        <QueryErrorResult error={host.error} onRetry={() => void host.refetch()} />
      ) : !host.data ? (
        <Card>
          <Skeleton active />
        </Card>
      ) : (
        <Flex vertical gap={16}>
          <HostFacts host={host.data} />
          <Row gutter={[16, 16]}>
            <Col xs={12} lg={6}>
              <UsageStat title={t('hosts.col.cpu')} percent={latest?.cpu_percent} hint={host.data.cpu_cores ? `${host.data.cpu_cores} vCPU` : undefined} />
            </Col>
            <Col xs={12} lg={6}>
              <UsageStat
                title={t('hosts.col.memory')}
                percent={latest?.memory_percent}
                hint={
                  latest?.memory_used_mb !== undefined
                    ? `${formatMegabytes(latest.memory_used_mb)} / ${formatMegabytes(host.data.memory_total_mb)}`
                    : undefined
                }
              />
            </Col>
            <Col xs={12} lg={6}>
              <UsageStat
                title={t('hosts.col.disk')}
                percent={latest?.disk_percent}
                hint={
                  latest?.disk_used_mb !== undefined
                    ? `${formatMegabytes(latest.disk_used_mb)} / ${formatMegabytes(latest.disk_total_mb)}`
                    : undefined
                }
              />
            </Col>
            <Col xs={12} lg={6}>
              <Card size="small" styles={{ body: { padding: '16px 20px' } }}>
                <Statistic
                  title={`${t('hostDetail.chart.load')} · ${t('hostDetail.series.load1')}`}
                  value={latest?.cpu_load_1 ?? '-'}
                  precision={latest?.cpu_load_1 === undefined ? undefined : 2}
                />
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {latest?.cpu_load_5 !== undefined
                    ? `${t('hostDetail.series.load5')} ${latest.cpu_load_5.toFixed(2)} · ${t('hostDetail.series.load15')} ${latest.cpu_load_15?.toFixed(2) ?? '-'}`
                    : '\u00a0'}
                </Typography.Text>
              </Card>
            </Col>
          </Row>

          <Flex justify="space-between" align="center" wrap gap={8}>
            <Segmented<MetricRangeHours>
              value={hours}
              onChange={setHours}
              options={METRIC_RANGES.map((value) => ({ value, label: t(`hostDetail.range.${value}`) }))}
            />
            <Typography.Text type="secondary" data-testid="metric-interval">
              {t('hostDetail.granularity', { interval: t(`hostDetail.interval.${interval}`) })}
            </Typography.Text>
          </Flex>

          {metrics.error && !metrics.data ? (
            <QueryErrorResult error={metrics.error} onRetry={() => void metrics.refetch()} />
          ) : (
            <HostMetricCharts points={metrics.data ?? []} hours={hours} loading={metrics.isPending} />
          )}
        </Flex>
      )}
    </PageContainer>
  );
}
