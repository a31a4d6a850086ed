/** `/`: the infrastructure summary. For now it is built from host totals only. */
import {
  CheckCircleOutlined,
  CloseCircleOutlined,
  CloudServerOutlined,
  InfoCircleOutlined,
  KeyOutlined,
  PercentageOutlined,
} from '@ant-design/icons';
import { Alert, Button, Card, Col, Empty, Flex, List, Row, Skeleton, Statistic, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { EChart, type EChartOption } from '@/components/charts/EChart';
import { PageContainer } from '@/components/PageContainer';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { RelativeTime } from '@/components/RelativeTime';
import { useI18n } from '@/i18n/i18n';
import { useHostSummary, type HostSummary } from '../api/host-summary';

const ONLINE_COLOR = '#52c41a';
const OFFLINE_COLOR = '#bfbfbf';

function StatCard({ title, value, icon, color, suffix }: { title: string; value: number | string; icon: ReactNode; color: string; suffix?: string }) {
  return (
    <Card styles={{ body: { padding: 20 } }}>
      <Flex justify="space-between" align="center">
        <Statistic title={title} value={value} suffix={suffix} />
        <Flex
          align="center"
          justify="center"
          style={{ width: 48, height: 48, borderRadius: 12, fontSize: 22, color, background: `${color}14` }}
        >
          {icon}
        </Flex>
      </Flex>
    </Card>
  );
}

function onlineRate(summary: HostSummary): number | null {
  return summary.total === 0 ? null : (summary.online / summary.total) * 100;
}

function statusChartOption(summary: HostSummary, onlineLabel: string, offlineLabel: string): EChartOption {
  return {
    color: [ONLINE_COLOR, OFFLINE_COLOR],
    tooltip: { trigger: 'item' },
    legend: { bottom: 0, icon: 'circle' },
    series: [
      {
        type: 'pie',
        radius: ['55%', '78%'],
        center: ['50%', '45%'],
        avoidLabelOverlap: true,
        label: { show: false },
        itemStyle: { borderColor: '#fff', borderWidth: 2 },
        data: [
          { name: onlineLabel, value: summary.online },
          { name: offlineLabel, value: summary.offline },
        ],
      },
    ],
  };
}

export function DashboardPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const { data, error, isPending, refetch } = useHostSummary();

  let body: ReactNode;
  if (error && !data) {
    body = <QueryErrorResult error={error} onRetry={() => void refetch()} />;
  } else if (isPending || !data) {
    body = (
      <Card>
        <Skeleton active />
      </Card>
    );
  } else if (data.total === 0) {
    body = (
      <Card>
        <Empty
          image={Empty.PRESENTED_IMAGE_SIMPLE}
          description={
            <Flex vertical gap={4}>
              <Typography.Text strong>{t('dashboard.noHosts')}</Typography.Text>
              <Typography.Text type="secondary">{t('dashboard.noHostsHint')}</Typography.Text>
            </Flex>
          }
        >
          <Button type="primary" icon={<KeyOutlined />} onClick={() => navigate('/agent-tokens')}>
            {t('menu.agentTokens')}
          </Button>
        </Empty>
      </Card>
    );
  } else {
    const rate = onlineRate(data);
    body = (
      <Flex vertical gap={16}>
        <Row gutter={[16, 16]}>
          <Col xs={24} sm={12} xl={6}>
            <StatCard title={t('dashboard.totalHosts')} value={data.total} icon={<CloudServerOutlined />} color="#1677ff" />
          </Col>
          <Col xs={24} sm={12} xl={6}>
            <StatCard title={t('dashboard.onlineHosts')} value={data.online} icon={<CheckCircleOutlined />} color={ONLINE_COLOR} />
          </Col>
          <Col xs={24} sm={12} xl={6}>
            <StatCard title={t('dashboard.offlineHosts')} value={data.offline} icon={<CloseCircleOutlined />} color="#ff4d4f" />
          </Col>
          <Col xs={24} sm={12} xl={6}>
            <StatCard
              title={t('dashboard.onlineRate')}
              value={rate === null ? '-' : rate.toFixed(1)}
              suffix={rate === null ? undefined : '%'}
              icon={<PercentageOutlined />}
              color="#722ed1"
            />
          </Col>
        </Row>
        <Row gutter={[16, 16]}>
          <Col xs={24} lg={10}>
            <Card title={t('dashboard.hostStatus')} style={{ height: '100%' }}>
              <EChart
                ariaLabel={t('dashboard.hostStatus')}
                height={260}
                option={statusChartOption(data, t('hosts.status.online'), t('hosts.status.offline'))}
              />
            </Card>
          </Col>
          <Col xs={24} lg={14}>
            <Card
              title={t('dashboard.offlineList')}
              extra={<Link to="/hosts?status=offline">{t('dashboard.viewAll')}</Link>}
              style={{ height: '100%' }}
            >
              {data.offlineHosts.length === 0 ? (
                <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('dashboard.noOffline')} />
              ) : (
                <List
                  dataSource={data.offlineHosts}
                  renderItem={(host) => (
                    <List.Item extra={<RelativeTime value={host.last_heartbeat} fallback={t('hosts.never')} />}>
                      <List.Item.Meta
                        avatar={<CloseCircleOutlined style={{ color: '#ff4d4f', fontSize: 18, marginTop: 4 }} />}
                        title={<Link to={`/hosts/${host.id}`}>{host.display_name || host.hostname}</Link>}
                        description={host.ip_address ?? '-'}
                      />
                    </List.Item>
                  )}
                />
              )}
            </Card>
          </Col>
        </Row>
      </Flex>
    );
  }

  return (
    <PageContainer title={t('dashboard.title')} subtitle={t('dashboard.subtitle')}>
      <Flex vertical gap={16}>
        {body}
        <Alert type="info" showIcon icon={<InfoCircleOutlined />} title={t('dashboard.moreComing')} />
      </Flex>
    </PageContainer>
  );
}
