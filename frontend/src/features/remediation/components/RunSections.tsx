/** The diagnosis and the safety decision of a run, as its log records them. */
import { CheckCircleOutlined, StopOutlined } from '@ant-design/icons';
import { Descriptions, Empty, Flex, Progress, Tag, Typography } from 'antd';
import type { RemediationDecision, RemediationDiagnosis } from '@/lib/api-types';
import { formatDateTime } from '@/lib/time';
import { useI18n } from '@/i18n/i18n';
import { formatConfidence } from '../remediation-log';
import { RiskTag } from './RemediationTags';

export function DiagnosisSection({ diagnosis }: { diagnosis: RemediationDiagnosis | null }) {
  const { t } = useI18n();
  if (!diagnosis) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('remediation.diagnosis.none')} />;
  const confidence = typeof diagnosis.confidence === 'number' ? Math.round(Math.min(1, Math.max(0, diagnosis.confidence)) * 100) : null;
  return (
    <Flex vertical gap={8} data-testid="diagnosis">
      <Typography.Text strong style={{ whiteSpace: 'pre-wrap' }} data-testid="diagnosis-root-cause">
        {diagnosis.root_cause || '-'}
      </Typography.Text>
      <Descriptions size="small" column={{ xs: 1, md: 3 }}>
        <Descriptions.Item label={t('remediation.diagnosis.confidence')}>
          <Flex gap={8} align="center" style={{ minWidth: 140 }}>
            {confidence === null ? '-' : <Progress percent={confidence} size="small" showInfo={false} style={{ width: 80, margin: 0 }} />}
            <span data-testid="diagnosis-confidence">{formatConfidence(diagnosis.confidence)}</span>
          </Flex>
        </Descriptions.Item>
        <Descriptions.Item label={t('remediation.diagnosis.source')}>
          <Tag color={diagnosis.source === 'llm' ? 'purple' : 'cyan'}>
            {diagnosis.source === 'llm' ? t('remediation.diagnosis.sourceLlm') : diagnosis.source === 'rules' ? t('remediation.diagnosis.sourceRules') : String(diagnosis.source)}
          </Tag>
        </Descriptions.Item>
        <Descriptions.Item label={t('remediation.diagnosis.suggested')}>
          {diagnosis.suggested_runbook ? <Typography.Text code>{diagnosis.suggested_runbook}</Typography.Text> : '-'}
        </Descriptions.Item>
      </Descriptions>
      {diagnosis.reasoning ? (
        <div>
          <Typography.Text type="secondary">{t('remediation.diagnosis.reasoning')}</Typography.Text>
          <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: '4px 0 0' }}>{diagnosis.reasoning}</Typography.Paragraph>
        </div>
      ) : null}
    </Flex>
  );
}

function YesNo({ value, danger }: { value: boolean; danger?: boolean }) {
  const { t } = useI18n();
  return value ? <Tag color={danger ? 'error' : 'default'}>{t('remediation.yes')}</Tag> : <Tag>{t('remediation.no')}</Tag>;
}

export function DecisionSection({ decision }: { decision: RemediationDecision | null }) {
  const { t } = useI18n();
  if (!decision) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('remediation.decision.none')} />;
  const reasons = Array.isArray(decision.reasons) ? decision.reasons : [];
  const checks = decision.checks ?? null;
  const matchedBy = ['diagnosis', 'alert_type', 'keyword'].includes(decision.matched_by)
    ? t(`remediation.decision.matchedBy.${decision.matched_by as 'diagnosis' | 'alert_type' | 'keyword'}`)
    : decision.matched_by;
  return (
    <Flex vertical gap={8} data-testid="decision">
      <Flex gap={8} align="center" wrap>
        <Typography.Text>{t('remediation.decision.risk')}</Typography.Text>
        <RiskTag risk={decision.risk} />
        <Typography.Text type="secondary">{t('remediation.decision.matched', { by: matchedBy || '-' })}</Typography.Text>
        {decision.stopped ? (
          <Tag color="error" icon={<StopOutlined />} data-testid="decision-stopped">
            {t('remediation.decision.stopped', { why: decision.stopped })}
          </Tag>
        ) : (
          <Tag color="success" icon={<CheckCircleOutlined />}>
            {t('remediation.decision.allowed')}
          </Tag>
        )}
      </Flex>
      {reasons.length > 0 ? (
        <ul style={{ margin: 0, paddingInlineStart: 20 }} data-testid="decision-reasons">
          {reasons.map((reason, index) => (
            <li key={index}>{reason}</li>
          ))}
        </ul>
      ) : (
        <Typography.Text type="secondary">{t('remediation.decision.noReasons')}</Typography.Text>
      )}
      {checks ? (
        <Descriptions size="small" column={{ xs: 1, md: 2 }} title={<Typography.Text type="secondary">{t('remediation.decision.checks')}</Typography.Text>}>
          <Descriptions.Item label={t('remediation.check.recentFailures')}>{checks.recent_failures}</Descriptions.Item>
          <Descriptions.Item label={t('remediation.check.runsLastHour')}>{checks.runs_last_hour}</Descriptions.Item>
          <Descriptions.Item label={t('remediation.check.autoRunsLastHour')}>{checks.auto_runs_last_hour}</Descriptions.Item>
          <Descriptions.Item label={t('remediation.check.lastRun')}>{formatDateTime(checks.last_run_of_runbook) ?? t('remediation.check.never')}</Descriptions.Item>
          <Descriptions.Item label={t('remediation.check.optedOut')}>
            <YesNo value={checks.opted_out} danger />
          </Descriptions.Item>
          <Descriptions.Item label={t('remediation.check.inMaintenance')}>
            <YesNo value={checks.in_maintenance} danger />
          </Descriptions.Item>
        </Descriptions>
      ) : null}
    </Flex>
  );
}
