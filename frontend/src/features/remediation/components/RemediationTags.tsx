/** The small labels of the remediation pages: status, risk, trigger, phase, exit code, dry run. */
import {
  CheckCircleFilled,
  ClockCircleOutlined,
  CloseCircleFilled,
  ExperimentOutlined,
  RobotOutlined,
  SyncOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { Tag, Tooltip } from 'antd';
import type { RemediationRisk, RemediationStatus } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { isTerminalStatus, riskColor, statusColor, type CommandLogRow } from '../remediation-log';
import { REMEDIATION_STATUSES } from '../types';

const RISKS: readonly string[] = ['auto', 'confirm', 'block'];
const PHASES: readonly string[] = ['pre_check', 'step', 'verify', 'rollback'];

export function RemediationStatusTag({ status }: { status: RemediationStatus | string }) {
  const { t } = useI18n();
  const known = REMEDIATION_STATUSES.find((candidate) => candidate === status);
  const working = !isTerminalStatus(status) && status !== 'pending_approval' && status !== 'pending';
  return (
    <Tag
      color={statusColor(status)}
      icon={working ? <SyncOutlined spin /> : status === 'pending_approval' ? <ClockCircleOutlined /> : undefined}
      data-testid="remediation-status"
      data-status={status}
    >
      {known ? t(`remediation.status.${known}`) : status}
    </Tag>
  );
}

export function RiskTag({ risk }: { risk: RemediationRisk | string | null | undefined }) {
  const { t } = useI18n();
  if (!risk) return <span>-</span>;
  const known = RISKS.includes(risk);
  return (
    <Tooltip title={known ? t(`remediation.riskHint.${risk as RemediationRisk}`) : undefined}>
      <Tag color={riskColor(risk)}>{known ? t(`remediation.risk.${risk as RemediationRisk}`) : risk}</Tag>
    </Tooltip>
  );
}

export function TriggerTag({ trigger, requestedBy }: { trigger: string; requestedBy?: number | null }) {
  const { t } = useI18n();
  if (trigger === 'auto') {
    return (
      <Tag icon={<RobotOutlined />} color="purple">
        {t('remediation.trigger.auto')}
      </Tag>
    );
  }
  if (trigger === 'manual') {
    return (
      <Tag icon={<UserOutlined />} color="blue">
        {requestedBy ? t('remediation.trigger.manualBy', { user: requestedBy }) : t('remediation.trigger.manual')}
      </Tag>
    );
  }
  return <Tag>{trigger}</Tag>;
}

export function DryRunTag() {
  const { t } = useI18n();
  return (
    <Tooltip title={t('remediation.dryRunHint')}>
      <Tag icon={<ExperimentOutlined />} color="magenta" data-testid="dry-run-tag">
        {t('remediation.dryRun')}
      </Tag>
    </Tooltip>
  );
}

export function PhaseTag({ phase }: { phase: string }) {
  const { t } = useI18n();
  const color: Record<string, string> = { pre_check: 'geekblue', step: 'blue', verify: 'cyan', rollback: 'orange' };
  return (
    <Tag color={color[phase] ?? 'default'} style={{ marginInlineEnd: 0 }}>
      {PHASES.includes(phase) ? t(`remediation.phase.${phase as 'pre_check' | 'step' | 'verify' | 'rollback'}`) : phase}
    </Tag>
  );
}

/** Green 0, red non-zero (orange when the step is optional), grey when nothing ran. */
export function ExitCodeTag({ row }: { row: CommandLogRow }) {
  const { t } = useI18n();
  if (row.outcome === 'not_executed') {
    return (
      <Tag data-testid="command-exit-code" data-exit-code="">
        {t('remediation.log.notExecuted')}
      </Tag>
    );
  }
  const color = row.outcome === 'ok' ? 'success' : row.outcome === 'failed_optional' ? 'warning' : 'error';
  return (
    <Tag
      color={color}
      icon={row.outcome === 'ok' ? <CheckCircleFilled /> : <CloseCircleFilled />}
      data-testid="command-exit-code"
      data-exit-code={row.exitCode ?? ''}
      style={{ marginInlineEnd: 0 }}
    >
      {t('remediation.log.exitCode', { code: row.exitCode ?? '?' })}
    </Tag>
  );
}
