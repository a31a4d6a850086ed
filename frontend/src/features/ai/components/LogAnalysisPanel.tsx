/**
 * Log analysis: the recent logs clustered into patterns (deterministic, always shown) and the
 * model's reading of them. When the model is unavailable the server says so in `error`, and the
 * patterns and any deterministic analysis are still shown.
 */
import { FileSearchOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Descriptions, Empty, Flex, InputNumber, Select, Statistic, Table, Tag, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { useDescribeError } from '@/components/api-error';
import { RelativeTime } from '@/components/RelativeTime';
import type { AnalyzeLogsRequest, LogAnomaly, LogPattern } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { formatDateTime } from '@/lib/time';
import { useAnalyzeLogs } from '../api/analyze-logs';
import { LOG_LEVELS } from '../types';
import { MethodTag, PlainText, SeverityTag } from './AiTags';

const LEVEL_COLOR: Record<string, string> = { FATAL: 'magenta', CRITICAL: 'magenta', ERROR: 'red', WARN: 'orange', WARNING: 'orange', INFO: 'blue', DEBUG: 'default' };

export function LogAnalysisPanel() {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const { mutate, data, error, isPending } = useAnalyzeLogs();
  const [hours, setHours] = useState<number>(1);
  const [hostId, setHostId] = useState<number | null>(null);
  const [level, setLevel] = useState<string | undefined>(undefined);

  const analyse = () => {
    const body: AnalyzeLogsRequest = { hours };
    if (hostId !== null) body.host_id = hostId;
    if (level) body.level = level;
    mutate(body);
  };

  const patternColumns: TableColumnsType<LogPattern> = [
    {
      title: t('ai.logs.col.level'),
      dataIndex: 'level',
      width: 90,
      render: (value: string) => <Tag color={LEVEL_COLOR[value.toUpperCase()] ?? 'default'}>{value}</Tag>,
    },
    {
      title: t('ai.logs.col.template'),
      dataIndex: 'template',
      render: (value: string, pattern) => (
        <Flex vertical gap={2}>
          <Typography.Text code style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {value}
          </Typography.Text>
          <Tooltip title={pattern.example}>
            <Typography.Text type="secondary" ellipsis style={{ fontSize: 12, maxWidth: 520 }}>
              {t('ai.logs.example')}: {pattern.example}
            </Typography.Text>
          </Tooltip>
        </Flex>
      ),
    },
    { title: t('ai.logs.col.count'), dataIndex: 'count', width: 80, align: 'right' },
    {
      title: t('ai.logs.col.hosts'),
      dataIndex: 'host_ids',
      width: 120,
      render: (ids: number[]) => (
        <Flex gap={4} wrap>
          {ids.map((id) => (
            <Link key={id} to={`/hosts/${id}`}>
              #{id}
            </Link>
          ))}
        </Flex>
      ),
    },
    {
      title: t('ai.logs.col.services'),
      dataIndex: 'services',
      width: 140,
      render: (services: string[]) => (
        <Flex gap={4} wrap>
          {services.map((service) => (
            <Tag key={service}>{service}</Tag>
          ))}
        </Flex>
      ),
    },
    {
      title: t('ai.logs.col.seen'),
      key: 'seen',
      width: 170,
      render: (_, pattern) => (
        <Tooltip title={`${formatDateTime(pattern.first_seen)} → ${formatDateTime(pattern.last_seen)}`}>
          <span>
            <RelativeTime value={pattern.last_seen} />
          </span>
        </Tooltip>
      ),
    },
    {
      title: t('ai.logs.col.examples'),
      dataIndex: 'example_log_ids',
      width: 130,
      render: (ids: number[]) => <Typography.Text type="secondary">{ids.slice(0, 5).map((id) => `#${id}`).join(', ')}</Typography.Text>,
    },
  ];

  const anomalyColumns: TableColumnsType<LogAnomaly> = [
    {
      title: t('ai.logs.anomaly.pattern'),
      dataIndex: 'pattern',
      render: (value: string, anomaly) => (
        <Flex vertical gap={2}>
          <PlainText text={value} />
          {anomaly.log_ids && anomaly.log_ids.length > 0 ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {anomaly.log_ids.slice(0, 5).map((id) => `#${id}`).join(', ')}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    { title: t('ai.logs.col.count'), dataIndex: 'count', width: 80, align: 'right' },
    { title: t('ai.logs.anomaly.risk'), dataIndex: 'risk', width: 100, render: (value: string) => <SeverityTag severity={value} /> },
    { title: t('ai.logs.anomaly.suggestion'), dataIndex: 'suggestion', render: (value: string) => <PlainText text={value} /> },
  ];

  const analysis = data?.analysis ?? null;

  return (
    <Flex vertical gap={16}>
      <Flex gap={8} wrap align="center">
        <InputNumber<number>
          value={hours}
          min={1}
          max={168}
          precision={0}
          onChange={(value) => setHours(typeof value === 'number' ? value : 1)}
          prefix={t('ai.logs.hoursPrefix')}
          suffix={t('ai.logs.hoursSuffix')}
          aria-label={t('ai.logs.hours')}
          style={{ width: 170 }}
        />
        <InputNumber<number>
          value={hostId}
          min={1}
          precision={0}
          onChange={(value) => setHostId(typeof value === 'number' ? value : null)}
          placeholder={t('ai.logs.hostId')}
          aria-label={t('ai.logs.hostId')}
          style={{ width: 150 }}
        />
        <Select<string>
          allowClear
          value={level}
          onChange={(value) => setLevel(value)}
          placeholder={t('ai.logs.level')}
          aria-label={t('ai.logs.level')}
          style={{ width: 230 }}
          options={LOG_LEVELS.map((value) => ({ value, label: value }))}
        />
        <Button type="primary" icon={<FileSearchOutlined />} onClick={analyse} loading={isPending} data-testid="analyse-logs">
          {t('ai.logs.analyse')}
        </Button>
      </Flex>

      {error ? <Alert type="error" showIcon title={t('ai.logs.failed')} description={describeError(error)} data-testid="log-analysis-error" /> : null}

      {data ? (
        <Flex vertical gap={16} data-testid="log-analysis-result">
          {!data.success ? (
            <Alert type="warning" showIcon title={t('ai.logs.noModel')} description={data.error ?? undefined} data-testid="log-analysis-banner" />
          ) : null}
          <Flex gap={32} wrap>
            <Statistic title={t('ai.logs.logCount')} value={data.log_count} />
            <Statistic title={t('ai.logs.patternCount')} value={data.patterns.length} />
          </Flex>
          {analysis ? (
            <Card
              size="small"
              title={
                <Flex gap={8} align="center" wrap>
                  <SeverityTag severity={analysis.severity} />
                  <span>{analysis.title}</span>
                </Flex>
              }
              extra={analysis.method ? <MethodTag method={analysis.method} /> : null}
            >
              <Flex vertical gap={12}>
                <PlainText text={analysis.summary} />
                {analysis.anomalies.length > 0 ? (
                  <Table<LogAnomaly>
                    size="small"
                    rowKey={(anomaly) => `${anomaly.pattern}-${anomaly.count}`}
                    columns={anomalyColumns}
                    dataSource={analysis.anomalies}
                    pagination={false}
                  />
                ) : null}
                {analysis.overall_assessment ? (
                  <Descriptions
                    size="small"
                    column={1}
                    items={[{ key: 'overall', label: t('ai.logs.overall'), children: <PlainText text={analysis.overall_assessment} /> }]}
                  />
                ) : null}
              </Flex>
            </Card>
          ) : null}
          <Card size="small" title={t('ai.logs.patterns')} styles={{ body: { padding: 0 } }}>
            <Table<LogPattern>
              size="small"
              rowKey={(pattern) => `${pattern.level}|${pattern.template}`}
              columns={patternColumns}
              dataSource={data.patterns}
              pagination={data.patterns.length > 20 ? { pageSize: 20, size: 'small' } : false}
              scroll={{ x: 1000 }}
              locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('ai.logs.noPatterns')} /> }}
              data-testid="log-patterns"
            />
          </Card>
        </Flex>
      ) : null}
    </Flex>
  );
}
