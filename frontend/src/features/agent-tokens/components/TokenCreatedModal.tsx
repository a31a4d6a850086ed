/**
 * Shows a new token's plaintext exactly once, with a copy button and the agent configuration
 * command. Closing it is final: the plaintext is held only by the page's state, which it clears,
 * and the page unmounts this dialog.
 */
import { CheckCircleFilled } from '@ant-design/icons';
import { Alert, Button, Flex, Modal, Typography } from 'antd';
import type { CreatedAgentToken } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { agentConfigCommand } from '../install-command';

const CODE_BOX = {
  display: 'block',
  padding: '10px 12px',
  margin: 0,
  background: '#f6f8fa',
  border: '1px solid #e5e7eb',
  borderRadius: 8,
  fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  fontSize: 13,
  wordBreak: 'break-all' as const,
};

export function TokenCreatedModal({
  token,
  serverOrigin,
  onClose,
}: {
  token: CreatedAgentToken;
  serverOrigin: string;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const command = agentConfigCommand(serverOrigin, token.token);

  return (
    <Modal
      open
      title={
        <Flex align="center" gap={8}>
          <CheckCircleFilled style={{ color: '#52c41a' }} />
          {t('tokens.createdTitle')}
          <Typography.Text type="secondary">· {token.name}</Typography.Text>
        </Flex>
      }
      onCancel={onClose}
      mask={{ closable: false }}
      keyboard={false}
      width={640}
      footer={
        <Button type="primary" onClick={onClose} data-testid="token-created-done">
          {t('tokens.done')}
        </Button>
      }
    >
      <Flex vertical gap={16} data-testid="token-created">
        <Alert type="warning" showIcon title={t('tokens.createdWarning')} />
        <div>
          <Typography.Text strong>{t('tokens.tokenLabel')}</Typography.Text>
          <Typography.Paragraph
            copyable={{ text: token.token, tooltips: [t('common.copy'), t('common.copied')] }}
            style={{ ...CODE_BOX, marginTop: 8 }}
            data-testid="token-plaintext"
          >
            {token.token}
          </Typography.Paragraph>
        </div>
        <div>
          <Typography.Text strong>{t('tokens.installLabel')}</Typography.Text>
          <Typography.Paragraph
            copyable={{ text: command, tooltips: [t('common.copy'), t('common.copied')] }}
            style={{ ...CODE_BOX, marginTop: 8 }}
            data-testid="token-install-command"
          >
            {command}
          </Typography.Paragraph>
        </div>
      </Flex>
    </Modal>
  );
}
