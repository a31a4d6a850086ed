/** Starts a manual run for an alert by its id (operator); on success the new run opens. */
import { Alert, Flex, InputNumber, Modal, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { useDescribeError } from '@/components/api-error';
import { useI18n } from '@/i18n/i18n';
import { useRemediateAlert } from '../api/remediate-alert';

export function StartRunModal({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const describeError = useDescribeError();
  const start = useRemediateAlert();
  const [alertId, setAlertId] = useState<number | null>(null);

  const submit = async () => {
    if (!alertId) return;
    try {
      const run = await start.mutateAsync(alertId);
      onClose();
      void navigate(`/remediations/${run.id}`);
    } catch {
      // Shown in the dialog from the mutation's error.
    }
  };

  return (
    <Modal
      open
      title={t('remediation.start.title')}
      okText={t('remediation.start.submit')}
      okButtonProps={{ disabled: !alertId, loading: start.isPending, ...({ 'data-testid': 'start-run-submit' } as Record<string, string>) }}
      cancelText={t('common.cancel')}
      onOk={() => void submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <Flex vertical gap={12}>
        <Typography.Paragraph style={{ margin: 0 }}>{t('remediation.start.description')}</Typography.Paragraph>
        <InputNumber
          min={1}
          precision={0}
          style={{ width: 200 }}
          value={alertId}
          onChange={(value) => setAlertId(typeof value === 'number' ? value : null)}
          placeholder={t('remediation.start.alertId')}
          aria-label={t('remediation.start.alertId')}
          data-testid="start-run-alert"
        />
        {start.error ? <Alert type="error" showIcon title={describeError(start.error)} /> : null}
      </Flex>
    </Modal>
  );
}
