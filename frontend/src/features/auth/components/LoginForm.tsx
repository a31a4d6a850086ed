/** Email + password sign-in. A failure shows the server's `detail` above the form. */
import { LockOutlined, MailOutlined } from '@ant-design/icons';
import { Alert, Button, Form, Input } from 'antd';
import { useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import type { LoginRequest } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useLogin } from '../api/login';
import { useStartSession } from '../hooks/useSession';

export function LoginForm({ onSignedIn }: { onSignedIn: () => void }) {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const loginMutation = useLogin();
  const startSession = useStartSession();
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  const onFinish = async (values: LoginRequest) => {
    setError(null);
    setStarting(true);
    try {
      const tokens = await loginMutation.mutateAsync({ email: values.email, password: values.password });
      await startSession(tokens);
      onSignedIn();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setStarting(false);
    }
  };

  return (
    <Form<LoginRequest> layout="vertical" size="large" onFinish={onFinish} requiredMark={false} name="login">
      {error ? (
        <Alert type="error" showIcon title={t('auth.loginFailed')} description={error} style={{ marginBottom: 16 }} role="alert" />
      ) : null}
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
        <Input prefix={<MailOutlined />} autoComplete="username" placeholder="admin@example.com" />
      </Form.Item>
      <Form.Item name="password" label={t('auth.password')} rules={[{ required: true, message: t('auth.passwordRequired') }]}>
        <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
      </Form.Item>
      <Button type="primary" htmlType="submit" block loading={starting} data-testid="login-submit">
        {t('auth.loginButton')}
      </Button>
    </Form>
  );
}
