/**
 * Approve or reject a run waiting for approval, with an optional comment for the audit trail.
 * A refusal from the server (wrong status, missing role) stays in the dialog with its `detail`.
 */
import { Alert, App, Flex, Input, Modal, Typography } from 'antd';
import { useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import type { Remediation } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useReviewRemediation, type ReviewDecision } from '../api/review-remediation';

export const REVIEW_COMMENT_MAX = 2000;

export function ReviewModal({ run, decision, onClose }: { run: Remediation; decision: ReviewDecision; onClose: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const describeError = useDescribeError();
  const review = useReviewRemediation();
  const [comment, setComment] = useState('');

  const submit = async () => {
    try {
      await review.mutateAsync({ id: run.id, decision, comment });
      void message.success(decision === 'approve' ? t('remediation.review.approved', { id: run.id }) : t('remediation.review.rejected', { id: run.id }));
      onClose();
    } catch {
      // Shown in the dialog from the mutation's error.
    }
  };

  const approve = decision === 'approve';
  return (
    <Modal
      open
      title={approve ? t('remediation.review.approveTitle', { id: run.id }) : t('remediation.review.rejectTitle', { id: run.id })}
      okText={approve ? t('remediation.action.approve') : t('remediation.action.reject')}
      okButtonProps={{ danger: !approve, loading: review.isPending, ...({ 'data-testid': 'review-submit' } as Record<string, string>) }}
      cancelText={t('common.cancel')}
      onOk={() => void submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <Flex vertical gap={12}>
        <Typography.Paragraph style={{ margin: 0 }}>
          {approve
            ? t('remediation.review.approveDescription', { runbook: run.runbook_name ?? '-', host: run.host_id ?? '-' })
            : t('remediation.review.rejectDescription')}
        </Typography.Paragraph>
        <Input.TextArea
          value={comment}
          onChange={(event) => setComment(event.target.value)}
          placeholder={t('remediation.review.commentPlaceholder')}
          aria-label={t('remediation.review.comment')}
          maxLength={REVIEW_COMMENT_MAX}
          showCount
          rows={3}
          data-testid="review-comment"
        />
        {review.error ? <Alert type="error" showIcon title={describeError(review.error)} data-testid="review-error" /> : null}
      </Flex>
    </Modal>
  );
}
