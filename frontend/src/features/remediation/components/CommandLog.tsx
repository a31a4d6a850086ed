/**
 * A run's commands in the order they ran: phase, step, the command line, exit code (green 0, red
 * non-zero, orange for an optional step that failed), duration, and the output in a collapsible
 * monospace block, opened by default for a command that failed.
 */
import { Collapse, Empty, Flex, Tag, Tooltip, Typography } from 'antd';
import { useI18n } from '@/i18n/i18n';
import { formatDurationMs, summariseCommands, type CommandLogRow } from '../remediation-log';
import { CommandText, OutputBlock } from './MonoBlock';
import { ExitCodeTag, PhaseTag } from './RemediationTags';

function lineCount(text: string): number {
  return text ? text.replace(/\n$/, '').split('\n').length : 0;
}

function CommandEntry({ row }: { row: CommandLogRow }) {
  const { t } = useI18n();
  const hasOutput = row.stdout !== '' || row.stderr !== '';
  const failed = row.outcome === 'failed' || row.outcome === 'failed_optional';
  return (
    <li
      data-testid="command-row"
      data-phase={row.phase}
      data-outcome={row.outcome}
      style={{ padding: '12px 0', borderTop: row.index === 1 ? undefined : '1px solid rgba(5, 5, 5, 0.06)' }}
    >
      <Flex gap={8} align="center" wrap>
        <Typography.Text type="secondary" style={{ fontVariantNumeric: 'tabular-nums', minWidth: 24 }}>
          {row.index}.
        </Typography.Text>
        <PhaseTag phase={row.phase} />
        <Typography.Text strong>{row.step || '-'}</Typography.Text>
        {row.optional ? (
          <Tooltip title={t('remediation.log.optionalHint')}>
            <Tag data-testid="command-optional">{t('remediation.log.optional')}</Tag>
          </Tooltip>
        ) : null}
        <ExitCodeTag row={row} />
        <Typography.Text type="secondary" style={{ fontVariantNumeric: 'tabular-nums' }}>
          {formatDurationMs(row.durationMs)}
        </Typography.Text>
        {row.requestId ? (
          <Typography.Text type="secondary" style={{ fontSize: 12 }} copyable={{ text: row.requestId }}>
            {t('remediation.log.requestId')}
          </Typography.Text>
        ) : null}
      </Flex>
      <div style={{ margin: '6px 0 0 32px' }}>
        <CommandText command={row.command} testId="command-text" />
        {hasOutput ? (
          <Collapse
            size="small"
            ghost
            defaultActiveKey={failed ? ['output'] : []}
            style={{ marginTop: 4 }}
            items={[
              {
                key: 'output',
                label: t('remediation.log.output', { stdout: lineCount(row.stdout), stderr: lineCount(row.stderr) }),
                children: (
                  <Flex vertical gap={8}>
                    {row.stdout ? (
                      <div>
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          stdout
                        </Typography.Text>
                        <OutputBlock text={row.stdout} testId="command-stdout" />
                      </div>
                    ) : null}
                    {row.stderr ? (
                      <div>
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          stderr
                        </Typography.Text>
                        <OutputBlock text={row.stderr} tone="stderr" testId="command-stderr" />
                      </div>
                    ) : null}
                  </Flex>
                ),
              },
            ]}
          />
        ) : (
          <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12, marginTop: 4 }}>
            {t('remediation.log.noOutput')}
          </Typography.Text>
        )}
      </div>
    </li>
  );
}

export function CommandLog({ rows }: { rows: CommandLogRow[] }) {
  const { t } = useI18n();
  if (rows.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('remediation.log.empty')} />;
  const summary = summariseCommands(rows);
  return (
    <Flex vertical gap={4} data-testid="command-log">
      <Typography.Text type="secondary" data-testid="command-summary">
        {t('remediation.log.summary', { total: summary.total, ok: summary.ok, failed: summary.failed + summary.failedOptional, notExecuted: summary.notExecuted })}
      </Typography.Text>
      <ul style={{ listStyle: 'none', margin: 0, padding: 0 }}>
        {rows.map((row) => (
          <CommandEntry key={row.index} row={row} />
        ))}
      </ul>
    </Flex>
  );
}
