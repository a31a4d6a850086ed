/**
 * `/remediations/:id`: one run read as its log, top to bottom: the outcome, what triggered it,
 * the diagnosis, the safety decision with every reason, then each command in the order it ran.
 * While the run is not final the page re-reads it every 2 s. Approve / reject (with a comment)
 * while it waits for approval; retry, which starts a new run and opens it, once it has failed.
 */
import { CheckOutlined, CloseOutlined, RedoOutlined, ReloadOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Col, Descriptions, Flex, Result, Row, Skeleton, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useDescribeError } from '@/components/api-error';
import { PageContainer } from '@/components/PageContainer';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { isApiError } from '@/lib/api-client';
import type { Remediation } from '@/lib/api-types';
import { formatDateTime } from '@/lib/time';
import { useI18n } from '@/i18n/i18n';
import { useRemediation } from '../api/get-remediation';
import { useRetryRemediation } from '../api/retry-remediation';
import type { ReviewDecision } from '../api/review-remediation';
import { canRetry, canReview, commandLogRows, formatDuration, isTerminalStatus, runDurationSeconds } from '../remediation-log';
import { CommandLog } from './CommandLog';
import { DecisionSection, DiagnosisSection } from './RunSections';
import { DryRunTag, RemediationStatusTag, RiskTag, TriggerTag } from './RemediationTags';
import { ReviewModal } from './ReviewModal';

function parseId(raw: string | undefined): number | null {
  const value = Number(raw);
  return Number.isInteger(value) && value >= 1 ? value : null;
}

function OutcomeBanner({ run }: { run: Remediation }) {
  const { t } = useI18n();
  const reason = run.blocked_reason ? (
    <span data-testid="blocked-reason">{t('remediation.outcome.reason', { reason: run.blocked_reason })}</span>
  ) : undefined;
  const common = { showIcon: true, 'data-testid': 'outcome', 'data-status': run.status } as const;
  switch (run.status) {
    case 'success':
      return <Alert {...common} type="success" title={run.executed ? t('remediation.outcome.success') : t('remediation.outcome.successDryRun')} description={reason} />;
    case 'failed':
      return <Alert {...common} type="error" title={t('remediation.outcome.failed')} description={reason} />;
    case 'escalated':
      return <Alert {...common} type="warning" title={t('remediation.outcome.escalated')} description={reason} />;
    case 'rejected':
      return (
        <Alert
          {...common}
          type="info"
          title={t('remediation.outcome.rejected', { user: run.approved_by ?? '-' })}
          description={run.review_comment ? t('remediation.outcome.comment', { comment: run.review_comment }) : reason}
        />
      );
    case 'pending_approval':
      return <Alert {...common} type="warning" title={t('remediation.outcome.pendingApproval')} description={reason ?? t('remediation.outcome.pendingApprovalHint')} />;
    default:
      return <Alert {...common} type="info" title={t('remediation.outcome.inProgress')} description={reason} />;
  }
}

function VerificationTag({ passed, status }: { passed: boolean | null; status: string }) {
  const { t } = useI18n();
  if (passed === true) return <Tag color="success" data-testid="verification" icon={<CheckOutlined />}>{t('remediation.verification.passed')}</Tag>;
  if (passed === false) return <Tag color="error" data-testid="verification" icon={<CloseOutlined />}>{t('remediation.verification.failed')}</Tag>;
  return <Tag data-testid="verification">{isTerminalStatus(status) ? t('remediation.verification.notRun') : t('remediation.verification.pending')}</Tag>;
}

function RunFacts({ run }: { run: Remediation }) {
  const { t } = useI18n();
  return (
    <Descriptions size="small" column={1} bordered styles={{ label: { width: 150 } }}>
      <Descriptions.Item label={t('remediation.field.trigger')}>
        <TriggerTag trigger={run.triggered_by} requestedBy={run.requested_by} />
      </Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.alert')}>
        {run.alert_id ? <Link to={`/ai?alert=${run.alert_id}`}>#{run.alert_id}</Link> : '-'}
      </Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.host')}>{run.host_id ? <Link to={`/hosts/${run.host_id}`}>#{run.host_id}</Link> : '-'}</Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.runbook')}>
        {run.runbook_name ? <Typography.Text code>{run.runbook_name}</Typography.Text> : t('remediation.noRunbook')}
      </Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.risk')}>
        <RiskTag risk={run.risk_level} />
      </Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.mode')}>
        {run.executed ? <Tag color="blue">{t('remediation.executedOnHost')}</Tag> : <DryRunTag />}
      </Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.verification')}>
        <VerificationTag passed={run.verification_passed} status={run.status} />
      </Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.created')}>{formatDateTime(run.created_at)}</Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.started')}>{formatDateTime(run.started_at) ?? '-'}</Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.completed')}>{formatDateTime(run.completed_at) ?? '-'}</Descriptions.Item>
      <Descriptions.Item label={t('remediation.field.duration')}>{formatDuration(runDurationSeconds(run))}</Descriptions.Item>
      {run.approved_by || run.approved_at ? (
        <Descriptions.Item label={t('remediation.field.reviewedBy')}>
          {t('remediation.reviewedBy', { user: run.approved_by ?? '-', time: formatDateTime(run.approved_at) ?? '-' })}
        </Descriptions.Item>
      ) : null}
      {run.review_comment ? (
        <Descriptions.Item label={t('remediation.field.comment')}>
          <span style={{ whiteSpace: 'pre-wrap' }} data-testid="review-comment-text">
            {run.review_comment}
          </span>
        </Descriptions.Item>
      ) : null}
    </Descriptions>
  );
}

export function RemediationDetailPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const describeError = useDescribeError();
  const id = parseId(useParams().id);
  const { data: run, error, isPending, isFetching, refetch } = useRemediation(id ?? 0);
  const retry = useRetryRemediation();
  const [reviewing, setReviewing] = useState<ReviewDecision | null>(null);

  const title = id ? t('remediation.detail.title', { id }) : t('remediation.title');

  if (id === null || (isApiError(error) && error.status === 404 && !run)) {
    return (
      <PageContainer title={title} backTo="/remediations">
        <Result status="404" title={t('remediation.detail.notFound')} subTitle={error ? describeError(error) : undefined} />
      </PageContainer>
    );
  }

  const onRetry = async () => {
    if (!run) return;
    try {
      const next = await retry.mutateAsync(run.id);
      void message.success(t('remediation.retried', { id: next.id }));
      void navigate(`/remediations/${next.id}`);
    } catch (failure) {
      void message.error(describeError(failure));
    }
  };

  const actions = run ? (
    <>
      <Button icon={<ReloadOutlined />} onClick={() => void refetch()} loading={isFetching && !isPending}>
        {t('common.refresh')}
      </Button>
      {canReview(run.status) ? (
        <>
          <Button danger icon={<CloseOutlined />} onClick={() => setReviewing('reject')} data-testid="reject-button">
            {t('remediation.action.reject')}
          </Button>
          <Button type="primary" icon={<CheckOutlined />} onClick={() => setReviewing('approve')} data-testid="approve-button">
            {t('remediation.action.approve')}
          </Button>
        </>
      ) : null}
      {canRetry(run.status) ? (
        <Button type="primary" icon={<RedoOutlined />} onClick={() => void onRetry()} loading={retry.isPending} data-testid="retry-button">
          {t('remediation.action.retry')}
        </Button>
      ) : null}
    </>
  ) : null;

  return (
    <PageContainer
      title={
        <Flex gap={8} align="center" wrap>
          {title}
          {run ? <RemediationStatusTag status={run.status} /> : null}
          {run && !run.executed ? <DryRunTag /> : null}
        </Flex>
      }
      documentTitle={title}
      subtitle={run ? t('remediation.detail.subtitle', { runbook: run.runbook_name ?? t('remediation.noRunbook'), time: formatDateTime(run.created_at) ?? '' }) : undefined}
      backTo="/remediations"
      extra={actions}
    >
      {error && !run ? (
        <Card>
          <QueryErrorResult error={error} onRetry={() => void refetch()} />
        </Card>
      ) : !run ? (
        <Card>
          <Skeleton active paragraph={{ rows: 8 }} />
        </Card>
      ) : (
        <Flex vertical gap={16} data-testid="remediation-detail" data-status={run.status}>
          <OutcomeBanner run={run} />
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={10}>
              <Card size="small" title={t('remediation.section.run')}>
                <RunFacts run={run} />
              </Card>
            </Col>
            <Col xs={24} xl={14}>
              <Flex vertical gap={16}>
                <Card size="small" title={t('remediation.section.diagnosis')}>
                  <DiagnosisSection diagnosis={run.diagnosis_json} />
                </Card>
                <Card size="small" title={t('remediation.section.decision')}>
                  <DecisionSection decision={run.decision} />
                </Card>
              </Flex>
            </Col>
          </Row>
          <Card
            size="small"
            title={t('remediation.section.log')}
            extra={isTerminalStatus(run.status) ? null : <Typography.Text type="secondary">{t('remediation.detail.polling')}</Typography.Text>}
          >
            <CommandLog rows={commandLogRows(run.command_results_json)} />
          </Card>
        </Flex>
      )}
      {run && reviewing ? <ReviewModal run={run} decision={reviewing} onClose={() => setReviewing(null)} /> : null}
    </PageContainer>
  );
}
