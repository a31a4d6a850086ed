/** Stored insights (every analysis, chat answer and log reading), filterable and paged, with a detail drawer. */
import { ReloadOutlined } from '@ant-design/icons';
import { Button, Empty, Flex, InputNumber, Select, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { RelativeTime } from '@/components/RelativeTime';
import type { Insight, InsightListQuery } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useInsights } from '../api/insights';
import { DEFAULT_INSIGHT_PAGE_SIZE, INSIGHT_PAGE_SIZES, INSIGHT_SEVERITIES, INSIGHT_STATUSES, INSIGHT_TYPES } from '../types';
import { MethodTag, SeverityTag, VerdictTag } from './AiTags';
import { InsightDrawer } from './InsightDrawer';

type Filters = Pick<InsightListQuery, 'severity' | 'status' | 'insight_type' | 'alert_id'>;

export function InsightsPanel() {
  const { t } = useI18n();
  const [filters, setFilters] = useState<Filters>({});
  const [paging, setPaging] = useState({ page: 1, page_size: DEFAULT_INSIGHT_PAGE_SIZE });
  const [openId, setOpenId] = useState<number | null>(null);
  const query: InsightListQuery = { ...paging, ...filters };
  const { data, error, isPending, isFetching, refetch } = useInsights(query);

  // A new filter starts again at the first page.
  const filter = (change: Filters) => {
    setFilters((previous) => ({ ...previous, ...change }));
    setPaging((previous) => ({ ...previous, page: 1 }));
  };
  const all = (value: string | undefined) => (value === 'all' ? undefined : value);
  const selectOptions = (values: readonly string[]) => [{ value: 'all', label: t('common.all') }, ...values.map((value) => ({ value, label: value }))];

  const columns: TableColumnsType<Insight> = [
    {
      title: t('ai.insights.col.created'),
      dataIndex: 'created_at',
      width: 140,
      render: (value: string) => <RelativeTime value={value} />,
    },
    { title: t('ai.insights.col.type'), dataIndex: 'insight_type', width: 120, render: (value: string) => <Tag>{value}</Tag> },
    { title: t('ai.insights.col.severity'), dataIndex: 'severity', width: 100, render: (value: string) => <SeverityTag severity={value} /> },
    {
      title: t('ai.insights.col.title'),
      dataIndex: 'title',
      render: (title: string, insight) => (
        <Flex vertical gap={2}>
          <Typography.Link onClick={() => setOpenId(insight.id)} data-testid={`insight-open-${insight.id}`}>
            {title}
          </Typography.Link>
          {insight.summary ? (
            <Typography.Text type="secondary" ellipsis style={{ fontSize: 12, maxWidth: 560 }}>
              {insight.summary}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    { title: t('ai.insights.col.method'), dataIndex: 'method', width: 150, render: (value: string) => <MethodTag method={value} /> },
    { title: t('ai.insights.col.status'), dataIndex: 'status', width: 100 },
    {
      title: t('ai.insights.col.feedback'),
      dataIndex: 'feedback',
      width: 120,
      render: (_, insight) => (insight.feedback ? <VerdictTag verdict={insight.feedback.verdict} /> : <Typography.Text type="secondary">-</Typography.Text>),
    },
  ];

  const filtered = Object.values(filters).some((value) => value !== undefined);

  return (
    <Flex vertical gap={12} data-testid="insights-panel">
      <Flex gap={8} wrap align="center">
        <Select<string>
          value={filters.insight_type ?? 'all'}
          onChange={(value) => filter({ insight_type: all(value) })}
          aria-label={t('ai.insights.col.type')}
          prefix={`${t('ai.insights.col.type')}:`}
          style={{ width: 190 }}
          options={selectOptions(INSIGHT_TYPES)}
        />
        <Select<string>
          value={filters.severity ?? 'all'}
          onChange={(value) => filter({ severity: all(value) })}
          aria-label={t('ai.insights.col.severity')}
          prefix={`${t('ai.insights.col.severity')}:`}
          style={{ width: 170 }}
          options={selectOptions(INSIGHT_SEVERITIES)}
        />
        <Select<string>
          value={filters.status ?? 'all'}
          onChange={(value) => filter({ status: all(value) })}
          aria-label={t('ai.insights.col.status')}
          prefix={`${t('ai.insights.col.status')}:`}
          style={{ width: 180 }}
          options={selectOptions(INSIGHT_STATUSES)}
        />
        <InputNumber<number>
          value={filters.alert_id ?? null}
          min={1}
          precision={0}
          onChange={(value) => filter({ alert_id: typeof value === 'number' ? value : undefined })}
          placeholder={t('ai.insights.alertFilter')}
          aria-label={t('ai.insights.alertFilter')}
          style={{ width: 150 }}
        />
        <Button icon={<ReloadOutlined />} onClick={() => void refetch()} loading={isFetching && !isPending}>
          {t('common.refresh')}
        </Button>
      </Flex>
      {error && !data ? (
        <QueryErrorResult error={error} onRetry={() => void refetch()} />
      ) : (
        <Table<Insight>
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={data?.items}
          loading={isPending || (isFetching && !data)}
          scroll={{ x: 1000 }}
          locale={{
            emptyText: (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={filtered ? t('ai.insights.emptyFiltered') : t('ai.insights.empty')} />
            ),
          }}
          pagination={{
            current: data?.page ?? paging.page,
            pageSize: data?.page_size ?? paging.page_size,
            total: data?.total ?? 0,
            showSizeChanger: true,
            pageSizeOptions: INSIGHT_PAGE_SIZES.map(String),
            showTotal: (total) => t('common.total', { total }),
          }}
          onChange={(pagination) => setPaging({ page: pagination.current ?? 1, page_size: pagination.pageSize ?? paging.page_size })}
        />
      )}
      <InsightDrawer insightId={openId} onClose={() => setOpenId(null)} />
    </Flex>
  );
}
