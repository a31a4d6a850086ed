/** The form that names a new agent token. */
import { Alert, Form, Input, Modal } from 'antd';
import { useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import type { CreateAgentTokenRequest, CreatedAgentToken } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useCreateAgentToken } from '../api/create-agent-token';

export const TOKEN_NAME_MAX = 100;

export function CreateTokenModal({
  open,
  onCancel,
  onCreated,
}: {
  open: boolean;
  onCancel: () => void;
  onCreated: (token: CreatedAgentToken) => void;
}) {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const [form] = Form.useForm<CreateAgentTokenRequest>();
  const createToken = useCreateAgentToken();
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    const values = await form.validateFields();
    setError(null);
    try {
      const created = await createToken.mutateAsync({ name: values.name.trim() });
      createToken.reset();
      form.resetFields();
      onCreated(created);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  return (
    <Modal
      open={open}
      title={t('tokens.createTitle')}
      okText={t('tokens.create')}
      cancelText={t('common.cancel')}
      confirmLoading={createToken.isPending}
      onOk={() => void submit().catch(() => undefined)}
      onCancel={() => {
        setError(null);
        form.resetFields();
        onCancel();
      }}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'create-token-submit' } as Record<string, string>}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} role="alert" /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={() => void submit()} name="create-agent-token">
        <Form.Item
          name="name"
          label={t('tokens.nameLabel')}
          rules={[
            { required: true, whitespace: true, message: t('tokens.nameRequired') },
            { max: TOKEN_NAME_MAX, message: t('tokens.nameTooLong', { max: TOKEN_NAME_MAX }) },
          ]}
        >
          <Input placeholder={t('tokens.namePlaceholder')} autoFocus maxLength={TOKEN_NAME_MAX} data-testid="token-name-input" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
