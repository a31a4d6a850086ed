/** Route guards: a session is needed for the console, and some pages need a role. */
import { Button, Result } from 'antd';
import type { ReactNode } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import type { LoginLocationState } from '@/features/auth/components/LoginPage';
import { hasSession } from '@/lib/session';
import { useI18n } from '@/i18n/i18n';
import { canAccess, type Access } from './access';
import { useCurrentRole } from './useCurrentRole';

export function RequireSession({ children }: { children: ReactNode }) {
  const location = useLocation();
  if (!hasSession()) {
    const state: LoginLocationState = { from: `${location.pathname}${location.search}` };
    return <Navigate to="/login" replace state={state} />;
  }
  return children;
}

export function RequireAccess({ access, children }: { access: Access; children: ReactNode }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const role = useCurrentRole();
  if (!canAccess(role, access)) {
    return (
      <Result
        status="403"
        title={t('error.forbiddenTitle')}
        subTitle={t('error.forbidden')}
        extra={<Button onClick={() => navigate('/')}>{t('common.backHome')}</Button>}
      />
    );
  }
  return children;
}

export function NotFoundPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <Result
      status="404"
      title={t('error.notFoundTitle')}
      subTitle={t('error.notFound')}
      extra={<Button onClick={() => navigate('/')}>{t('common.backHome')}</Button>}
    />
  );
}

export function RouteErrorPage() {
  const { t } = useI18n();
  return (
    <Result
      status="error"
      title={t('error.crashTitle')}
      subTitle={t('error.crash')}
      extra={<Button onClick={() => window.location.reload()}>{t('common.refresh')}</Button>}
    />
  );
}
