/** Every runbook in matching order (name, source, risk, what it does, its steps), and refused files. */
import { Alert, Empty, Flex, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import type { Runbook } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useRunbooks } from '../api/list-runbooks';
import { runbookStepCommands } from '../remediation-log';
import { CommandText } from './MonoBlock';
import { RiskTag } from './RemediationTags';

const SOURCE_COLOR: Record<string, string> = { builtin: 'default', file: 'blue', api: 'purple' };

export function RunbooksPanel() {
  const { t } = useI18n();
  const { data, error, isPending, refetch } = useRunbooks();

  if (error && !data) return <QueryErrorResult error={error} onRetry={() => void refetch()} />;

  const columns: TableColumnsType<Runbook> = [
    { title: t('remediation.runbooks.col.name'), dataIndex: 'name', width: 180, render: (name: string) => <Typography.Text strong code>{name}</Typography.Text> },
    {
      title: t('remediation.runbooks.col.source'),
      dataIndex: 'source',
      width: 100,
      render: (source: string) => (
        <Tag color={SOURCE_COLOR[source] ?? 'default'}>
          {source === 'builtin' || source === 'file' || source === 'api' ? t(`remediation.runbooks.source.${source}`) : source}
        </Tag>
      ),
    },
    { title: t('remediation.runbooks.col.risk'), dataIndex: 'risk', width: 110, render: (risk: string) => <RiskTag risk={risk} /> },
    { title: t('remediation.runbooks.col.description'), dataIndex: 'description', render: (text: string) => <Typography.Text>{text}</Typography.Text> },
    {
      title: t('remediation.runbooks.col.steps'),
      key: 'steps',
      render: (_, runbook) => {
        const steps = runbookStepCommands(runbook);
        if (steps.length === 0) return <Typography.Text type="secondary">-</Typography.Text>;
        return (
          <Flex vertical gap={4}>
            {steps.map((step, index) => (
              <div key={index}>
                <Typography.Text type="secondary" style={{ fontSize: 12, display: 'block' }}>
                  {step.name}
                </Typography.Text>
                <CommandText command={step.command} />
              </div>
            ))}
          </Flex>
        );
      },
    },
  ];

  return (
    <Flex vertical gap={12} data-testid="runbooks-panel">
      {data && data.refused_files.length > 0 ? (
        <Alert
          type="error"
          showIcon
          data-testid="refused-files"
          title={t('remediation.runbooks.refused', { count: data.refused_files.length })}
          description={
            <Flex vertical gap={8}>
              {data.refused_files.map((file) => (
                <div key={file.file}>
                  <Typography.Text code>{file.file}</Typography.Text>
                  <ul style={{ margin: '4px 0 0', paddingInlineStart: 20 }}>
                    {file.reasons.map((reason, index) => (
                      <li key={index}>{reason}</li>
                    ))}
                  </ul>
                </div>
              ))}
            </Flex>
          }
        />
      ) : null}
      <Table<Runbook>
        rowKey="name"
        size="middle"
        columns={columns}
        dataSource={data?.items}
        loading={isPending}
        pagination={false}
        scroll={{ x: 1000 }}
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('remediation.runbooks.empty')} /> }}
      />
    </Flex>
  );
}
