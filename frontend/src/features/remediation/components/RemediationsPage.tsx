/**
 * `/remediations`: what auto-remediation has done and is doing. The safety switches first (dry
 * run, automatic on/off, agent), the numbers, then two tabs: the runs (filterable, paged, each
 * opening its log) and the runbooks the matcher chooses from. The tab is kept in `?tab=`.
 */
import { BookOutlined, PlayCircleOutlined, ReloadOutlined, UnorderedListOutlined } from '@ant-design/icons';
import { Button, Card, Flex, Tabs } from 'antd';
import { useIsFetching, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { PageContainer } from '@/components/PageContainer';
import { useI18n } from '@/i18n/i18n';
import { remediationsQueryKey } from '../api/list-remediations';
import { remediationSettingsQueryKey } from '../api/remediation-settings';
import { REMEDIATION_TABS, type RemediationTab } from '../types';
import { RemediationRunsTable } from './RemediationRunsTable';
import { RemediationStatsCards } from './RemediationStatsCards';
import { RunbooksPanel } from './RunbooksPanel';
import { SafetySwitchesBanner } from './SafetySwitchesBanner';
import { StartRunModal } from './StartRunModal';

function parseTab(raw: string | null): RemediationTab {
  return REMEDIATION_TABS.find((tab) => tab === raw) ?? 'runs';
}

export function RemediationsPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const tab = parseTab(params.get('tab'));
  const [starting, setStarting] = useState(false);
  const fetching = useIsFetching({ queryKey: remediationsQueryKey }) > 0;

  const setTab = (key: string) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (parseTab(key) === 'runs') next.delete('tab');
        else next.set('tab', key);
        return next;
      },
      { replace: true },
    );

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: remediationsQueryKey });
    void queryClient.invalidateQueries({ queryKey: remediationSettingsQueryKey });
    void queryClient.invalidateQueries({ queryKey: ['runbooks'] });
  };

  return (
    <PageContainer
      title={t('remediation.title')}
      subtitle={t('remediation.subtitle')}
      extra={
        <>
          <Button icon={<ReloadOutlined />} onClick={refresh} loading={fetching}>
            {t('common.refresh')}
          </Button>
          <Button type="primary" icon={<PlayCircleOutlined />} onClick={() => setStarting(true)} data-testid="start-run">
            {t('remediation.start.button')}
          </Button>
        </>
      }
    >
      <Flex vertical gap={16}>
        <SafetySwitchesBanner />
        <RemediationStatsCards />
        <Card styles={{ body: { paddingTop: 4 } }}>
          <Tabs
            activeKey={tab}
            onChange={setTab}
            destroyOnHidden
            items={[
              { key: 'runs', icon: <UnorderedListOutlined />, label: t('remediation.tab.runs'), children: <RemediationRunsTable /> },
              { key: 'runbooks', icon: <BookOutlined />, label: t('remediation.tab.runbooks'), children: <RunbooksPanel /> },
            ]}
          />
        </Card>
      </Flex>
      {starting ? <StartRunModal onClose={() => setStarting(false)} /> : null}
    </PageContainer>
  );
}
