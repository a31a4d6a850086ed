/** `/hosts`: the host list with status and name filters, server-side pagination and live usage bars. */
import { ReloadOutlined } from '@ant-design/icons';
import { Button, Card, Empty, Flex, Input, Select, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { Link } from 'react-router-dom';
import { PageContainer } from '@/components/PageContainer';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { RelativeTime } from '@/components/RelativeTime';
import { UsageBar } from '@/components/UsageBar';
import type { Host, HostStatus } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useHosts } from '../api/list-hosts';
import { useHostListParams } from '../hooks/useHostListParams';
import { HOST_PAGE_SIZES } from '../types';
import { HostStatusTag } from './HostStatusTag';

function osLabel(host: Host): string {
  return [host.os, host.os_version].filter(Boolean).join(' ') || '-';
}

export function HostsPage() {
  const { t } = useI18n();
  const [query, update] = useHostListParams();
  const { data, error, isPending, isFetching, refetch } = useHosts(query);

  const columns: TableColumnsType<Host> = [
    {
      title: t('hosts.col.status'),
      dataIndex: 'status',
      width: 96,
      render: (status: HostStatus) => <HostStatusTag status={status} />,
    },
    {
      title: t('hosts.col.hostname'),
      dataIndex: 'hostname',
      render: (_, host) => (
        <Flex vertical gap={2}>
          <Link to={`/hosts/${host.id}`} style={{ fontWeight: 500 }}>
            {host.display_name || host.hostname}
          </Link>
          {host.display_name && host.display_name !== host.hostname ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {host.hostname}
            </Typography.Text>
          ) : null}
          {host.group_name ? (
            <span>
              <Tag variant="filled" style={{ fontSize: 12 }}>
                {host.group_name}
              </Tag>
            </span>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('hosts.col.ip'),
      dataIndex: 'ip_address',
      render: (ip: string | null) => <Typography.Text copyable={ip ? { text: ip } : false}>{ip ?? '-'}</Typography.Text>,
    },
    {
      title: t('hosts.col.os'),
      key: 'os',
      render: (_, host) => (
        <Flex vertical gap={2}>
          <span>{osLabel(host)}</span>
          {host.arch ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {host.arch}
              {host.cpu_cores ? ` · ${host.cpu_cores} vCPU` : ''}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('hosts.col.agent'),
      dataIndex: 'agent_version',
      width: 110,
      render: (version: string | null) => (version ? <Tag>{version}</Tag> : '-'),
    },
    {
      title: t('hosts.col.cpu'),
      key: 'cpu',
      width: 150,
      render: (_, host) => <UsageBar percent={host.latest_metrics?.cpu_percent} label={t('hosts.col.cpu')} />,
    },
    {
      title: t('hosts.col.memory'),
      key: 'memory',
      width: 150,
      render: (_, host) => <UsageBar percent={host.latest_metrics?.memory_percent} label={t('hosts.col.memory')} />,
    },
    {
      title: t('hosts.col.disk'),
      key: 'disk',
      width: 150,
      render: (_, host) => <UsageBar percent={host.latest_metrics?.disk_percent} label={t('hosts.col.disk')} />,
    },
    {
      title: t('hosts.col.heartbeat'),
      dataIndex: 'last_heartbeat',
      width: 160,
      render: (value: string | null) => <RelativeTime value={value} fallback={t('hosts.never')} />,
    },
  ];

  const filtered = Boolean(query.status || query.search);

  return (
    <PageContainer
      title={t('hosts.title')}
      subtitle={t('hosts.subtitle')}
      extra={
        <Button icon={<ReloadOutlined />} onClick={() => void refetch()} loading={isFetching && !isPending}>
          {t('common.refresh')}
        </Button>
      }
    >
      <Card styles={{ body: { padding: 0 } }}>
        <Flex gap={12} wrap style={{ padding: 16 }}>
          <Input.Search
            // Re-created when the URL's search changes (back button, a shared link), so the box
            // always shows the filter in force.
            key={query.search ?? ''}
            defaultValue={query.search}
            allowClear
            placeholder={t('hosts.search')}
            onSearch={(value) => update({ search: value.trim() || undefined })}
            style={{ width: 280 }}
            aria-label={t('hosts.search')}
          />
          <Select<HostStatus | 'all'>
            value={query.status ?? 'all'}
            onChange={(value) => update({ status: value === 'all' ? undefined : value })}
            style={{ width: 140 }}
            aria-label={t('hosts.statusFilter')}
            options={[
              { value: 'all', label: `${t('hosts.statusFilter')}: ${t('common.all')}` },
              { value: 'online', label: t('hosts.status.online') },
              { value: 'offline', label: t('hosts.status.offline') },
            ]}
          />
        </Flex>
        {error && !data ? (
          <QueryErrorResult error={error} onRetry={() => void refetch()} />
        ) : (
          <Table<Host>
            rowKey="id"
            columns={columns}
            dataSource={data?.items}
            loading={isPending || (isFetching && !data)}
            scroll={{ x: 1100 }}
            locale={{
              emptyText: (
                <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={filtered ? t('hosts.emptyFiltered') : t('hosts.empty')} />
              ),
            }}
            pagination={{
              current: data?.page ?? query.page,
              pageSize: data?.page_size ?? query.page_size,
              total: data?.total ?? 0,
              showSizeChanger: true,
              pageSizeOptions: HOST_PAGE_SIZES.map(String),
              showTotal: (total) => t('common.total', { total }),
              style: { padding: '0 16px' },
            }}
            onChange={(pagination) =>
              update({
                page: pagination.current ?? 1,
                page_size: pagination.pageSize ?? query.page_size,
              })
            }
          />
        )}
      </Card>
    </PageContainer>
  );
}
