/** Remembered incidents (root-cause context and memory search), best match first. */
import { Empty, Flex, Tag, Typography } from 'antd';
import type { MemoryIncident } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { formatDateTime } from '@/lib/time';
import { StackedList, VerdictTag } from './AiTags';

export function SimilarIncidents({ items, emptyText }: { items: MemoryIncident[]; emptyText?: string }) {
  const { t } = useI18n();
  if (items.length === 0) {
    return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={emptyText ?? t('ai.memory.none')} />;
  }
  return (
    <StackedList
      items={items}
      rowTestId="similar-incident"
      render={(incident) => (
          <Flex vertical gap={4} style={{ width: '100%' }}>
            <Flex gap={8} wrap align="center">
              <Typography.Text strong>{incident.title}</Typography.Text>
              {incident.verdict ? <VerdictTag verdict={incident.verdict} /> : null}
              {incident.runbook ? <Tag color="geekblue">{t('ai.runbook', { runbook: incident.runbook })}</Tag> : null}
              {incident.alert_id !== null ? <Tag>{t('ai.ref.alert', { id: incident.alert_id })}</Tag> : null}
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {formatDateTime(incident.created_at)} · {t('ai.memory.score', { score: incident.score.toFixed(2) })}
              </Typography.Text>
            </Flex>
            {incident.outcome ? (
              <Typography.Text>
                {t('ai.memory.outcome')}: {incident.outcome}
              </Typography.Text>
            ) : null}
            <Typography.Paragraph type="secondary" ellipsis={{ rows: 3, expandable: true, symbol: t('ai.more') }} style={{ margin: 0 }}>
              {incident.content}
            </Typography.Paragraph>
          </Flex>
      )}
    />
  );
}

