/** Searches the ops memory: past incidents like the one described, and what fixed them. */
import { Alert, Flex, Input, Skeleton } from 'antd';
import { useState } from 'react';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { useI18n } from '@/i18n/i18n';
import { useMemorySearch } from '../api/memory';
import { SimilarIncidents } from './SimilarIncidents';

export function MemorySearchPanel() {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const { data, error, isFetching, refetch } = useMemorySearch(q);

  return (
    <Flex vertical gap={16}>
      <Input.Search
        allowClear
        enterButton
        placeholder={t('ai.memory.placeholder')}
        aria-label={t('ai.memory.search')}
        onSearch={(value) => setQ(value.trim())}
        loading={isFetching}
        style={{ maxWidth: 560 }}
      />
      {!q ? null : error && !data ? (
        <QueryErrorResult error={error} onRetry={() => void refetch()} />
      ) : !data ? (
        <Skeleton active />
      ) : (
        <Flex vertical gap={12} data-testid="memory-result">
          {data.digest ? <Alert type="info" showIcon title={data.digest} data-testid="memory-digest" /> : null}
          <SimilarIncidents items={data.items} emptyText={t('ai.memory.noMatch', { query: data.query })} />
        </Flex>
      )}
    </Flex>
  );
}
