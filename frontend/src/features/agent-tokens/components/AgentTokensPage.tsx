/** `/agent-tokens` (admin): list, create (plaintext shown once) and revoke agent tokens. */
import { KeyOutlined, PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { App, Button, Card, Empty, Popconfirm, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import { PageContainer } from '@/components/PageContainer';
import { QueryErrorResult } from '@/components/QueryErrorResult';
import { RelativeTime } from '@/components/RelativeTime';
import type { AgentToken, CreatedAgentToken } from '@/lib/api-types';
import { formatDateTime } from '@/lib/time';
import { useI18n } from '@/i18n/i18n';
import { useAgentTokens } from '../api/list-agent-tokens';
import { useRevokeAgentToken } from '../api/revoke-agent-token';
import { CreateTokenModal } from './CreateTokenModal';
import { TokenCreatedModal } from './TokenCreatedModal';

export function AgentTokensPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const describeError = useDescribeError();
  const { data, error, isPending, isFetching, refetch } = useAgentTokens();
  const revoke = useRevokeAgentToken();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedAgentToken | null>(null);

  const onRevoke = async (token: AgentToken) => {
    try {
      await revoke.mutateAsync(token.id);
      void message.success(t('tokens.revoked'));
    } catch (failure) {
      void message.error(describeError(failure));
    }
  };

  const columns: TableColumnsType<AgentToken> = [
    {
      title: t('tokens.col.name'),
      dataIndex: 'name',
      render: (name: string) => (
        <Typography.Text strong>
          <KeyOutlined style={{ color: '#8c8c8c', marginInlineEnd: 8 }} />
          {name}
        </Typography.Text>
      ),
    },
    {
      title: t('tokens.col.prefix'),
      dataIndex: 'token_prefix',
      render: (prefix: string) => <Typography.Text code>{`${prefix}…`}</Typography.Text>,
    },
    {
      title: t('tokens.col.status'),
      dataIndex: 'is_active',
      width: 100,
      render: (active: boolean) =>
        active ? <Tag color="success">{t('tokens.status.active')}</Tag> : <Tag>{t('tokens.status.revoked')}</Tag>,
    },
    {
      title: t('tokens.col.createdAt'),
      dataIndex: 'created_at',
      width: 180,
      render: (value: string) => formatDateTime(value),
    },
    {
      title: t('tokens.col.lastUsed'),
      dataIndex: 'last_used_at',
      width: 140,
      render: (value: string | null) => <RelativeTime value={value} fallback={t('tokens.neverUsed')} />,
    },
    {
      title: t('tokens.col.actions'),
      key: 'actions',
      width: 100,
      render: (_, token) =>
        token.is_active ? (
          <Popconfirm
            title={t('tokens.revokeTitle', { name: token.name })}
            description={<div style={{ maxWidth: 280 }}>{t('tokens.revokeDescription')}</div>}
            okText={t('tokens.revoke')}
            cancelText={t('common.cancel')}
            okButtonProps={{ danger: true }}
            onConfirm={() => onRevoke(token)}
          >
            <Button type="link" danger size="small" style={{ paddingInline: 0 }}>
              {t('tokens.revoke')}
            </Button>
          </Popconfirm>
        ) : (
          <Typography.Text type="secondary">-</Typography.Text>
        ),
    },
  ];

  return (
    <PageContainer
      title={t('tokens.title')}
      subtitle={t('tokens.subtitle')}
      extra={
        <>
          <Button icon={<ReloadOutlined />} onClick={() => void refetch()} loading={isFetching && !isPending}>
            {t('common.refresh')}
          </Button>
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="create-token">
            {t('tokens.create')}
          </Button>
        </>
      }
    >
      <Card styles={{ body: { padding: 0 } }}>
        {error && !data ? (
          <QueryErrorResult error={error} onRetry={() => void refetch()} />
        ) : (
          <Table<AgentToken>
            rowKey="id"
            columns={columns}
            dataSource={data}
            loading={isPending}
            pagination={false}
            scroll={{ x: 800 }}
            rowClassName={(token) => (token.is_active ? '' : 'vigilops-row-muted')}
            locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('tokens.empty')} /> }}
          />
        )}
      </Card>
      <CreateTokenModal
        open={creating}
        onCancel={() => setCreating(false)}
        onCreated={(token) => {
          setCreating(false);
          setCreated(token);
        }}
      />
      {/* Mounted only while there is a token to show: closing unmounts it at once, so the plaintext
          leaves the DOM immediately instead of after the dialog's closing animation. */}
      {created ? (
        <TokenCreatedModal token={created} serverOrigin={window.location.origin} onClose={() => setCreated(null)} />
      ) : null}
    </PageContainer>
  );
}
