/**
 * A root-cause analysis with its evidence: the cause, who wrote it (model or correlator), the claims
 * whose evidence ids jump to the evidence rows they cite, the evidence table, the hypotheses, the
 * recommendations and what was dropped from the model's reply. Used by the root-cause panel and by
 * the insight drawer for stored `root_cause` insights.
 */
import { AimOutlined, WarningOutlined } from '@ant-design/icons';
import { Alert, Card, Descriptions, Empty, Flex, Progress, Table, Tag, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useCallback, useId, useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { EvidenceItem, MemoryIncident, RootCauseAnalysis } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { formatDateTime } from '@/lib/time';
import { describeReference } from '../evidence-reference';
import { ConfidenceTag, MethodTag, PlainText, StackedList } from './AiTags';
import { SimilarIncidents } from './SimilarIncidents';

export interface RootCauseResultProps {
  analysis: RootCauseAnalysis;
  evidenceItems: EvidenceItem[];
  similarIncidents?: MemoryIncident[];
  /** Why the model failed and the correlator answered instead. */
  error?: string | null;
  /** Rendered under the cause (feedback buttons). */
  footer?: ReactNode;
}

function EvidenceIdTag({
  id,
  known,
  selected,
  onSelect,
}: {
  id: string;
  known: boolean;
  selected: boolean;
  onSelect: (id: string) => void;
}) {
  const { t } = useI18n();
  if (!known) {
    return (
      <Tooltip title={t('ai.evidence.unknownId')}>
        <Tag color="error" data-testid={`evidence-link-${id}`}>
          {id}
        </Tag>
      </Tooltip>
    );
  }
  return (
    <Tag
      color={selected ? 'processing' : 'blue'}
      role="button"
      tabIndex={0}
      aria-label={t('ai.evidence.show', { id })}
      aria-pressed={selected}
      data-testid={`evidence-link-${id}`}
      style={{ cursor: 'pointer' }}
      onClick={() => onSelect(id)}
      onKeyDown={(event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onSelect(id);
        }
      }}
    >
      {id}
    </Tag>
  );
}

export function RootCauseResult({ analysis, evidenceItems, similarIncidents, error, footer }: RootCauseResultProps) {
  const { t } = useI18n();
  const domPrefix = useId();
  const [selected, setSelected] = useState<string | null>(null);
  const knownIds = new Set(evidenceItems.map((item) => item.id));
  const rowDomId = (id: string) => `${domPrefix}-evidence-${id}`;

  const select = useCallback(
    (id: string) => {
      setSelected(id);
      // The row is already rendered; bring it into view (jsdom has no scrollIntoView).
      document.getElementById(`${domPrefix}-evidence-${id}`)?.scrollIntoView?.({ behavior: 'smooth', block: 'center' });
    },
    [domPrefix],
  );

  const idTags = (ids: string[]) => (
    <Flex gap={4} wrap>
      {ids.map((id) => (
        <EvidenceIdTag key={id} id={id} known={knownIds.has(id)} selected={selected === id} onSelect={select} />
      ))}
    </Flex>
  );

  const columns: TableColumnsType<EvidenceItem> = [
    { title: t('ai.evidence.col.id'), dataIndex: 'id', width: 64, render: (id: string) => <Typography.Text strong>{id}</Typography.Text> },
    { title: t('ai.evidence.col.component'), dataIndex: 'component', width: 180, render: (value: string) => <Typography.Text code>{value}</Typography.Text> },
    { title: t('ai.evidence.col.summary'), dataIndex: 'summary', render: (value: string) => <PlainText text={value} /> },
    {
      title: t('ai.evidence.col.reference'),
      key: 'reference',
      width: 240,
      render: (_, item) => {
        const reference = describeReference(item.reference, t);
        return (
          <Flex vertical gap={2}>
            {reference.href ? <Link to={reference.href}>{reference.text}</Link> : <span>{reference.text}</span>}
            {reference.range ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {reference.range}
              </Typography.Text>
            ) : null}
          </Flex>
        );
      },
    },
    {
      title: t('ai.evidence.col.onset'),
      dataIndex: 'onset',
      width: 170,
      render: (onset: string | null) => formatDateTime(onset) ?? <Typography.Text type="secondary">-</Typography.Text>,
    },
    {
      title: t('ai.evidence.col.signal'),
      key: 'signal',
      width: 150,
      render: (_, item) => (
        <Flex vertical gap={2}>
          {item.anomalous ? (
            <Tag color="red" icon={<WarningOutlined />} style={{ width: 'fit-content' }}>
              {t('ai.evidence.anomalous')}
            </Tag>
          ) : (
            <Tag style={{ width: 'fit-content' }}>{t('ai.evidence.context')}</Tag>
          )}
          <Progress
            percent={Math.round(Math.max(0, Math.min(1, item.strength)) * 100)}
            size="small"
            aria-label={t('ai.evidence.strength')}
            status={item.anomalous ? 'exception' : 'normal'}
            format={(percent) => `${percent ?? 0}%`}
          />
        </Flex>
      ),
    },
  ];

  return (
    <Flex vertical gap={16} data-testid="root-cause-result">
      {error ? <Alert type="warning" showIcon title={t('ai.rootCause.modelFailed')} description={error} data-testid="model-error" /> : null}
      {analysis.insufficient_evidence ? (
        <Alert type="warning" showIcon title={t('ai.rootCause.insufficient')} description={t('ai.rootCause.insufficientHint')} data-testid="insufficient-evidence" />
      ) : null}

      <Card size="small">
        <Flex vertical gap={12}>
          <Flex gap={8} wrap align="center">
            <MethodTag method={analysis.method} />
            <Typography.Text type="secondary" data-testid="analysis-label">
              {analysis.label}
            </Typography.Text>
          </Flex>
          <Descriptions
            column={1}
            size="small"
            items={[
              {
                key: 'cause',
                label: t('ai.rootCause.cause'),
                children: (
                  <Typography.Text strong data-testid="root-cause-text">
                    {analysis.root_cause}
                  </Typography.Text>
                ),
              },
              { key: 'confidence', label: t('ai.rootCause.confidence'), children: <ConfidenceTag confidence={analysis.confidence} testId="confidence" /> },
              {
                key: 'first',
                label: t('ai.rootCause.firstFailing'),
                children: analysis.first_failing_component ? (
                  <Flex gap={4} align="center">
                    <AimOutlined />
                    <Typography.Text code data-testid="first-failing">
                      {analysis.first_failing_component}
                    </Typography.Text>
                  </Flex>
                ) : (
                  <Typography.Text type="secondary">{t('ai.rootCause.noneIdentified')}</Typography.Text>
                ),
              },
              ...(analysis.recommended_runbook
                ? [
                    {
                      key: 'runbook',
                      label: t('ai.rootCause.runbook'),
                      children: <Tag color="geekblue">{analysis.recommended_runbook}</Tag>,
                    },
                  ]
                : []),
            ]}
          />
          {footer}
        </Flex>
      </Card>

      <Card size="small" title={t('ai.rootCause.claims')}>
        {analysis.claims.length === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('ai.rootCause.noClaims')} />
        ) : (
          <StackedList
            items={analysis.claims}
            rowTestId="claim"
            render={(claim) => (
              <Flex gap={12} justify="space-between" style={{ width: '100%' }} wrap>
                <span style={{ flex: 1, minWidth: 240 }}>
                  <PlainText text={claim.statement} />
                </span>
                {idTags(claim.evidence)}
              </Flex>
            )}
          />
        )}
      </Card>

      <Card size="small" title={t('ai.evidence.title', { count: evidenceItems.length })} styles={{ body: { padding: 0 } }}>
        <Table<EvidenceItem>
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={evidenceItems}
          pagination={false}
          scroll={{ x: 1000 }}
          onRow={(item) => ({
            id: rowDomId(item.id),
            'data-evidence-id': item.id,
            'aria-selected': selected === item.id,
            style: selected === item.id ? { background: '#e6f4ff', transition: 'background 0.3s' } : undefined,
          })}
          locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('ai.evidence.none')} /> }}
        />
      </Card>

      {analysis.hypotheses.length > 0 ? (
        <Card size="small" title={t('ai.rootCause.hypotheses')}>
          <StackedList
            items={analysis.hypotheses}
            rowTestId="hypothesis"
            render={(hypothesis) => (
              <Flex vertical gap={4} style={{ width: '100%' }}>
                <Flex gap={8} wrap align="center">
                  {hypothesis.rejected_because === null ? <Tag color="green">{t('ai.rootCause.chosen')}</Tag> : <Tag>{t('ai.rootCause.rejected')}</Tag>}
                  <Typography.Text strong={hypothesis.rejected_because === null}>{hypothesis.cause}</Typography.Text>
                  <ConfidenceTag confidence={hypothesis.confidence} />
                  {idTags(hypothesis.evidence)}
                </Flex>
                {hypothesis.rejected_because ? (
                  <Typography.Text type="secondary">
                    {t('ai.rootCause.rejectedBecause')}: {hypothesis.rejected_because}
                  </Typography.Text>
                ) : null}
              </Flex>
            )}
          />
        </Card>
      ) : null}

      <Card size="small" title={t('ai.rootCause.recommendations')}>
        {analysis.recommendations.length === 0 ? (
          <Typography.Text type="secondary">{t('ai.rootCause.noRecommendations')}</Typography.Text>
        ) : (
          <ol style={{ margin: 0, paddingInlineStart: 20 }} data-testid="recommendations">
            {analysis.recommendations.map((recommendation, index) => (
              <li key={index}>
                <PlainText text={recommendation} />
              </li>
            ))}
          </ol>
        )}
      </Card>

      {analysis.warnings.length > 0 ? (
        <Alert
          type="info"
          showIcon
          title={t('ai.rootCause.warnings')}
          data-testid="analysis-warnings"
          description={
            <ul style={{ margin: 0, paddingInlineStart: 20 }}>
              {analysis.warnings.map((warning, index) => (
                <li key={index}>{warning}</li>
              ))}
            </ul>
          }
        />
      ) : null}

      {similarIncidents ? (
        <Card size="small" title={t('ai.rootCause.similar')}>
          <SimilarIncidents items={similarIncidents} />
        </Card>
      ) : null}
    </Flex>
  );
}
