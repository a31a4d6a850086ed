/** The run list: status and trigger filters (kept in the URL), and one row per run, newest first. */
import { Card, Empty, Flex, Select, Table, Tooltip, Typography, type TableColumnsType } from 'antd';
import { Link } from 'react-router-dom';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { RelativeTime } from '@/components/RelativeTime';
import type { Remediation } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useRemediations } from '../api/list-remediations';
import { useRemediationListParams } from '../hooks/useRemediationListParams';
import { formatDuration, runDurationSeconds } from '../remediation-log';
import { DEFAULT_REMEDIATION_PAGE_SIZE, REMEDIATION_PAGE_SIZES, REMEDIATION_STATUSES, REMEDIATION_TRIGGERS } from '../types';
import { DryRunTag, RemediationStatusTag, RiskTag, TriggerTag } from './RemediationTags';

export function RemediationRunsTable() {
  const { t } = useI18n();
  const [query, update] = useRemediationListParams();
  const { data, error, isPending, isFetching, refetch } = useRemediations(query);

  const columns: TableColumnsType<Remediation> = [
    {
      title: t('remediation.col.id'),
      dataIndex: 'id',
      width: 80,
      render: (id: number) => (
        <Link to={`/remediations/${id}`} data-testid={`remediation-link-${id}`}>
          #{id}
        </Link>
      ),
    },
    {
      title: t('remediation.col.alert'),
      dataIndex: 'alert_id',
      width: 90,
      render: (alertId: number | null) =>
        alertId ? (
          <Tooltip title={t('remediation.alertLinkHint')}>
            <Link to={`/ai?alert=${alertId}`}>#{alertId}</Link>
          </Tooltip>
        ) : (
          '-'
        ),
    },
    {
      title: t('remediation.col.host'),
      dataIndex: 'host_id',
      width: 80,
      render: (hostId: number | null) => (hostId ? <Link to={`/hosts/${hostId}`}>#{hostId}</Link> : '-'),
    },
    {
      title: t('remediation.col.runbook'),
      dataIndex: 'runbook_name',
      render: (name: string | null) => (name ? <Typography.Text code>{name}</Typography.Text> : <Typography.Text type="secondary">{t('remediation.noRunbook')}</Typography.Text>),
    },
    { title: t('remediation.col.risk'), dataIndex: 'risk_level', width: 110, render: (risk: string | null) => <RiskTag risk={risk} /> },
    {
      title: t('remediation.col.status'),
      dataIndex: 'status',
      width: 170,
      render: (_, run) => (
        <Flex gap={4} wrap>
          <RemediationStatusTag status={run.status} />
          {run.executed ? null : <DryRunTag />}
        </Flex>
      ),
    },
    {
      title: t('remediation.col.trigger'),
      dataIndex: 'triggered_by',
      width: 130,
      render: (_, run) => <TriggerTag trigger={run.triggered_by} requestedBy={run.requested_by} />,
    },
    { title: t('remediation.col.created'), dataIndex: 'created_at', width: 130, render: (value: string) => <RelativeTime value={value} /> },
    {
      title: t('remediation.col.duration'),
      key: 'duration',
      width: 110,
      align: 'right',
      render: (_, run) => formatDuration(runDurationSeconds(run)),
    },
  ];

  return (
    <Flex vertical gap={12}>
      <Flex gap={8} wrap align="center">
        <Select
          allowClear
          style={{ width: 200 }}
          placeholder={t('remediation.filter.status')}
          value={query.status}
          onChange={(status) => update({ status })}
          options={REMEDIATION_STATUSES.map((status) => ({ value: status, label: t(`remediation.status.${status}`) }))}
          data-testid="filter-status"
        />
        <Select
          allowClear
          style={{ width: 160 }}
          placeholder={t('remediation.filter.trigger')}
          value={query.triggered_by}
          onChange={(triggered_by) => update({ triggered_by })}
          options={REMEDIATION_TRIGGERS.map((trigger) => ({ value: trigger, label: t(`remediation.trigger.${trigger}`) }))}
          data-testid="filter-trigger"
        />
        {query.alert_id ? <Typography.Text type="secondary">{t('remediation.filter.alert', { id: query.alert_id })}</Typography.Text> : null}
        {query.host_id ? <Typography.Text type="secondary">{t('remediation.filter.host', { id: query.host_id })}</Typography.Text> : null}
      </Flex>
      <Card styles={{ body: { padding: 0 } }} data-testid="remediation-table">
        {error && !data ? (
          <QueryErrorResult error={error} onRetry={() => void refetch()} />
        ) : (
          <Table<Remediation>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={data?.items}
            loading={isPending || (isFetching && !data)}
            scroll={{ x: 1000 }}
            pagination={{
              current: query.page ?? 1,
              pageSize: query.page_size ?? DEFAULT_REMEDIATION_PAGE_SIZE,
              total: data?.total ?? 0,
              showSizeChanger: true,
              pageSizeOptions: REMEDIATION_PAGE_SIZES.map(String),
              showTotal: (total) => t('common.total', { total }),
              onChange: (page, pageSize) =>
                update(pageSize !== (query.page_size ?? DEFAULT_REMEDIATION_PAGE_SIZE) ? { page_size: pageSize } : { page }),
            }}
            locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('remediation.empty')} /> }}
          />
        )}
      </Card>
    </Flex>
  );
}
