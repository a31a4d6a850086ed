/**
 * `/ai`: AI analysis. A strip of system numbers, then one tab per tool: root cause of an alert
 * (`/ai?alert=42` opens it and runs the analysis), the streamed ops chat, log analysis, the stored
 * insights and the incident memory. The tab is kept in the URL (`?tab=`); panels stay mounted once
 * opened, so a chat survives switching tabs.
 */
import { BulbOutlined, DatabaseOutlined, FileSearchOutlined, MessageOutlined, NodeIndexOutlined } from '@ant-design/icons';
import { Card, Flex, Tabs } from 'antd';
import { useCallback } from 'react';
import { useSearchParams } from 'react-router-dom';
import { PageContainer } from '@/components/PageContainer';
import { useI18n } from '@/i18n/i18n';
import { AI_TABS, type AiTab } from '../types';
import { ChatPanel } from './ChatPanel';
import { InsightsPanel } from './InsightsPanel';
import { LogAnalysisPanel } from './LogAnalysisPanel';
import { MemorySearchPanel } from './MemorySearchPanel';
import { RootCausePanel } from './RootCausePanel';
import { SystemSummaryStrip } from './SystemSummaryStrip';

function parseAlertId(raw: string | null): number | null {
  const value = Number(raw);
  return raw !== null && Number.isInteger(value) && value >= 1 ? value : null;
}

function parseTab(raw: string | null): AiTab {
  return AI_TABS.find((tab) => tab === raw) ?? 'root-cause';
}

export function AiPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const alertId = parseAlertId(params.get('alert'));
  const tab = parseTab(params.get('tab'));

  const update = useCallback(
    (change: { tab?: AiTab; alert?: number }) =>
      setParams(
        (previous) => {
          const next = new URLSearchParams(previous);
          if (change.tab) {
            if (change.tab === 'root-cause') next.delete('tab');
            else next.set('tab', change.tab);
          }
          if (change.alert !== undefined) next.set('alert', String(change.alert));
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );

  const items = [
    {
      key: 'root-cause',
      icon: <NodeIndexOutlined />,
      label: t('ai.tab.rootCause'),
      children: <RootCausePanel alertId={alertId} onAlertIdChange={(alert) => update({ alert })} />,
    },
    { key: 'chat', icon: <MessageOutlined />, label: t('ai.tab.chat'), children: <ChatPanel /> },
    { key: 'logs', icon: <FileSearchOutlined />, label: t('ai.tab.logs'), children: <LogAnalysisPanel /> },
    { key: 'insights', icon: <BulbOutlined />, label: t('ai.tab.insights'), children: <InsightsPanel /> },
    { key: 'memory', icon: <DatabaseOutlined />, label: t('ai.tab.memory'), children: <MemorySearchPanel /> },
  ];

  return (
    <PageContainer title={t('ai.title')} subtitle={t('ai.subtitle')}>
      <Flex vertical gap={16}>
        <SystemSummaryStrip />
        <Card styles={{ body: { paddingTop: 4 } }}>
          <Tabs activeKey={tab} onChange={(key) => update({ tab: parseTab(key) })} items={items} />
        </Card>
      </Flex>
    </PageContainer>
  );
}
