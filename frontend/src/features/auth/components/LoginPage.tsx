/** `/login`: a brand panel beside the sign-in and first-user registration forms. */
import { AlertOutlined, DashboardOutlined, RobotOutlined } from '@ant-design/icons';
import { Alert, Card, Flex, Tabs, Typography, theme } from 'antd';
import { useEffect, type ReactNode } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { LanguageSwitch } from '@/components/LanguageSwitch';
import { Logo, LogoMark } from '@/components/Logo';
import { hasSession } from '@/lib/session';
import { useI18n } from '@/i18n/i18n';
import { LoginForm } from './LoginForm';
import { RegisterForm } from './RegisterForm';

/** What the login route may receive from a redirect. */
export interface LoginLocationState {
  from?: string;
  expired?: boolean;
}

function Feature({ icon, text }: { icon: ReactNode; text: string }) {
  return (
    <Flex align="center" gap={12}>
      <Flex
        align="center"
        justify="center"
        style={{ width: 36, height: 36, borderRadius: 10, background: 'rgba(255,255,255,0.16)', fontSize: 18 }}
      >
        {icon}
      </Flex>
      <span style={{ fontSize: 15 }}>{text}</span>
    </Flex>
  );
}

export function LoginPage() {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as LoginLocationState;

  useEffect(() => {
    document.title = `${t('auth.loginTab')} · VigilOps`;
  }, [t]);

  if (hasSession()) return <Navigate to="/" replace />;

  const onSignedIn = () => navigate(state.from && state.from !== '/login' ? state.from : '/', { replace: true });

  return (
    <Flex style={{ minHeight: '100vh', background: token.colorBgLayout }}>
      <Flex
        vertical
        justify="space-between"
        className="vigilops-login-brand"
        style={{
          width: '42%',
          maxWidth: 560,
          padding: '40px 48px',
          color: '#fff',
          background: 'linear-gradient(150deg, #0958d9 0%, #1677ff 55%, #4096ff 100%)',
        }}
      >
        <Flex align="center" gap={12}>
          <LogoMark size={36} />
          <span style={{ fontSize: 22, fontWeight: 600 }}>VigilOps</span>
        </Flex>
        <div>
          <Typography.Title level={2} style={{ color: '#fff', marginBottom: 12 }}>
            {t('app.tagline')}
          </Typography.Title>
          <Flex vertical gap={18} style={{ marginTop: 32 }}>
            <Feature icon={<DashboardOutlined />} text={t('auth.feature.monitor')} />
            <Feature icon={<AlertOutlined />} text={t('auth.feature.alert')} />
            <Feature icon={<RobotOutlined />} text={t('auth.feature.ai')} />
          </Flex>
        </div>
        <span style={{ opacity: 0.7, fontSize: 13 }}>© VigilOps · Apache-2.0</span>
      </Flex>

      <Flex vertical flex={1} style={{ padding: '16px 24px' }}>
        <Flex justify="flex-end">
          <LanguageSwitch />
        </Flex>
        <Flex flex={1} align="center" justify="center">
          <Card style={{ width: '100%', maxWidth: 420 }} styles={{ body: { padding: '32px 32px 24px' } }}>
            <Flex vertical align="center" gap={8} style={{ marginBottom: 8 }}>
              <Logo size={36} />
              <Typography.Text type="secondary">{t('app.tagline')}</Typography.Text>
            </Flex>
            {state.expired ? (
              <Alert type="info" showIcon title={t('auth.sessionExpired')} style={{ margin: '16px 0 0' }} />
            ) : null}
            <Tabs
              centered
              defaultActiveKey="login"
              items={[
                { key: 'login', label: t('auth.loginTab'), children: <LoginForm onSignedIn={onSignedIn} /> },
                { key: 'register', label: t('auth.registerTab'), children: <RegisterForm onSignedIn={onSignedIn} /> },
              ]}
            />
          </Card>
        </Flex>
      </Flex>
    </Flex>
  );
}
