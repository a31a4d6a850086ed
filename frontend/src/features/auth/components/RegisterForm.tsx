/**
 * Self-registration, meant for the first user (who becomes the admin). The server's refusals are
 * shown as it words them: 403 registration disabled, 409 email taken, 429 too many attempts.
 */
import { LockOutlined, MailOutlined, UserOutlined } from '@ant-design/icons';
import { Alert, Button, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import type { RegisterRequest } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useRegister } from '../api/register';
import { useStartSession } from '../hooks/useSession';

export const MIN_PASSWORD_LENGTH = 8;

interface RegisterValues extends RegisterRequest {
  confirm: string;
}

export function RegisterForm({ onSignedIn }: { onSignedIn: () => void }) {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const registerMutation = useRegister();
  const startSession = useStartSession();
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  const onFinish = async (values: RegisterValues) => {
    setError(null);
    setStarting(true);
    try {
      const tokens = await registerMutation.mutateAsync({
        email: values.email,
        name: values.name.trim(),
        password: values.password,
      });
      await startSession(tokens);
      onSignedIn();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setStarting(false);
    }
  };

  return (
    <Form<RegisterValues> layout="vertical" size="large" onFinish={onFinish} requiredMark={false} name="register">
      <Typography.Paragraph type="secondary" style={{ marginBottom: 16 }}>
        {t('auth.registerHint')}
      </Typography.Paragraph>
      {error ? (
        <Alert type="error" showIcon title={t('auth.registerFailed')} description={error} style={{ marginBottom: 16 }} role="alert" />
      ) : null}
      <Form.Item name="name" label={t('auth.name')} rules={[{ required: true, whitespace: true, message: t('auth.nameRequired') }]}>
        <Input prefix={<UserOutlined />} autoComplete="name" />
      </Form.Item>
      <Form.Item
        name="email"
        label={t('auth.email')}
        // Pasted addresses often carry spaces; they are never part of an email.
        normalize={(value: string) => value.trim()}
        rules={[
          { required: true, message: t('auth.emailRequired') },
          { type: 'email', message: t('auth.emailInvalid') },
        ]}
      >
        <Input prefix={<MailOutlined />} autoComplete="email" />
      </Form.Item>
      <Form.Item
        name="password"
        label={t('auth.password')}
        rules={[
          { required: true, message: t('auth.passwordRequired') },
          { min: MIN_PASSWORD_LENGTH, message: t('auth.passwordMin', { min: MIN_PASSWORD_LENGTH }) },
        ]}
      >
        <Input.Password prefix={<LockOutlined />} autoComplete="new-password" />
      </Form.Item>
      <Form.Item
        name="confirm"
        label={t('auth.confirmPassword')}
        dependencies={['password']}
        rules={[
          { required: true, message: t('auth.passwordRequired') },
          ({ getFieldValue }) => ({
            validator: (_, value) =>
              !value || getFieldValue('password') === value
                ? Promise.resolve()
                : Promise.reject(new Error(t('auth.passwordMismatch'))),
          }),
        ]}
      >
        <Input.Password prefix={<LockOutlined />} autoComplete="new-password" />
      </Form.Item>
      <Button type="primary" htmlType="submit" block loading={starting} data-testid="register-submit">
        {t('auth.registerButton')}
      </Button>
    </Form>
  );
}
