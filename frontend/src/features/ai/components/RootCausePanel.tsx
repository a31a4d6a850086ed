/**
 * Root-cause analysis of one alert. The alert id can come from the URL (`/ai?alert=42`, how other
 * pages link here): the analysis then runs once on arrival.
 */
import { ThunderboltOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, InputNumber, Skeleton, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import { useI18n } from '@/i18n/i18n';
import { useRootCause } from '../api/root-cause';
import { FeedbackButtons } from './FeedbackButtons';
import { RootCauseResult } from './RootCauseResult';

export function RootCausePanel({ alertId, onAlertIdChange }: { alertId: number | null; onAlertIdChange: (id: number) => void }) {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const { mutate, data, error, isPending, variables } = useRootCause();
  const [draft, setDraft] = useState<number | null>(null);
  /** The alert last analysed, so that the URL's id runs once and not again on every render. */
  const lastRun = useRef<number | null>(null);

  useEffect(() => {
    if (alertId !== null && lastRun.current !== alertId) {
      lastRun.current = alertId;
      mutate(alertId);
    }
  }, [alertId, mutate]);

  const wanted = draft ?? alertId;
  const analyse = () => {
    if (wanted === null) return;
    lastRun.current = wanted;
    mutate(wanted);
    setDraft(null);
    onAlertIdChange(wanted);
  };

  return (
    <Flex vertical gap={16}>
      <Flex gap={8} wrap align="center">
        <InputNumber<number>
          // Re-created when the URL's alert changes, so the box shows the alert being analysed.
          key={alertId ?? 'none'}
          defaultValue={alertId ?? undefined}
          min={1}
          precision={0}
          placeholder={t('ai.rootCause.alertId')}
          aria-label={t('ai.rootCause.alertId')}
          onChange={(value) => setDraft(typeof value === 'number' ? value : null)}
          onPressEnter={analyse}
          style={{ width: 200 }}
        />
        <Button type="primary" icon={<ThunderboltOutlined />} onClick={analyse} loading={isPending} disabled={wanted === null}>
          {t('ai.rootCause.analyse')}
        </Button>
        <Typography.Text type="secondary">{t('ai.rootCause.hint')}</Typography.Text>
      </Flex>

      {isPending ? (
        <Card size="small">
          <Typography.Text type="secondary">{t('ai.rootCause.running', { id: variables })}</Typography.Text>
          <Skeleton active />
        </Card>
      ) : error ? (
        <Alert type="error" showIcon title={t('ai.rootCause.failed')} description={describeError(error)} data-testid="root-cause-error" />
      ) : data ? (
        <RootCauseResult
          analysis={data.analysis}
          evidenceItems={data.evidence_items}
          similarIncidents={data.similar_incidents}
          error={data.error}
          footer={<FeedbackButtons key={data.insight_id} insightId={data.insight_id} />}
        />
      ) : null}
    </Flex>
  );
}
