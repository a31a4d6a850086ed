/** One stored insight; `root_cause` insights show their analysis and evidence as the root-cause panel does. */
import { Descriptions, Drawer, Flex, Skeleton, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import type { Insight } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { formatDateTime } from '@/lib/time';
import { useInsight } from '../api/insights';
import { rootCauseDetails } from '../insight-details';
import { MethodTag, PlainText, SeverityTag } from './AiTags';
import { FeedbackButtons } from './FeedbackButtons';
import { RootCauseResult } from './RootCauseResult';

function InsightBody({ insight }: { insight: Insight }) {
  const { t } = useI18n();
  const rootCause = rootCauseDetails(insight);
  const feedback = <FeedbackButtons key={insight.id} insightId={insight.id} feedback={insight.feedback} />;
  const meta: { key: string; label: string; children: ReactNode }[] = [
    { key: 'type', label: t('ai.insights.col.type'), children: <Tag>{insight.insight_type}</Tag> },
    { key: 'severity', label: t('ai.insights.col.severity'), children: <SeverityTag severity={insight.severity} /> },
    { key: 'status', label: t('ai.insights.col.status'), children: insight.status },
    { key: 'created', label: t('ai.insights.col.created'), children: formatDateTime(insight.created_at) },
    {
      key: 'method',
      label: t('ai.insights.col.method'),
      children: (
        <Flex gap={4} align="center">
          <MethodTag method={insight.method} />
          {insight.model ? <Typography.Text type="secondary">{insight.model}</Typography.Text> : null}
        </Flex>
      ),
    },
  ];
  if (insight.related_host_id !== null) {
    meta.push({
      key: 'host',
      label: t('ai.insights.host'),
      children: <Link to={`/hosts/${insight.related_host_id}`}>#{insight.related_host_id}</Link>,
    });
  }
  if (insight.related_alert_id !== null) {
    meta.push({ key: 'alert', label: t('ai.insights.alert'), children: `#${insight.related_alert_id}` });
  }

  return (
    <Flex vertical gap={16}>
      <Descriptions size="small" column={2} items={meta} />
      {insight.summary && !rootCause ? <PlainText text={insight.summary} /> : null}
      {rootCause ? (
        <RootCauseResult
          analysis={rootCause.analysis}
          evidenceItems={rootCause.evidence_items}
          similarIncidents={rootCause.similar_incidents}
          error={rootCause.error}
          footer={feedback}
        />
      ) : (
        <>
          {feedback}
          {insight.details ? (
            <pre style={{ background: '#fafafa', padding: 12, borderRadius: 6, overflow: 'auto', maxHeight: 480, margin: 0 }} data-testid="insight-details">
              {JSON.stringify(insight.details, null, 2)}
            </pre>
          ) : null}
        </>
      )}
    </Flex>
  );
}

export function InsightDrawer({ insightId, onClose }: { insightId: number | null; onClose: () => void }) {
  const { t } = useI18n();
  const { data, error, isPending, refetch } = useInsight(insightId);
  return (
    <Drawer
      open={insightId !== null}
      onClose={onClose}
      size="large"
      title={data?.title ?? t('ai.insights.detail')}
      destroyOnHidden
      styles={{ wrapper: { width: 'min(960px, 100vw)' } }}
    >
      {insightId === null ? null : error && !data ? (
        <QueryErrorResult error={error} onRetry={() => void refetch()} />
      ) : isPending || !data ? (
        <Skeleton active />
      ) : (
        <InsightBody insight={data} />
      )}
    </Drawer>
  );
}
