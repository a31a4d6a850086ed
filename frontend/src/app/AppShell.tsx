/** The logged-in frame: the layout with the role-filtered menu and the header actions. */
import { Spin } from 'antd';
import { Suspense } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router-dom';
import { AppLayout } from '@/components/layout/AppLayout';
import { LanguageSwitch } from '@/components/LanguageSwitch';
import { UserMenu } from '@/features/auth/components/UserMenu';
import { HealthIndicator } from '@/features/health/components/HealthIndicator';
import { useI18n } from '@/i18n/i18n';
import { menuRoutes, selectedMenuKey } from './routes';
import { useCurrentRole } from './useCurrentRole';

export function AppShell() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const role = useCurrentRole();

  const menuItems = menuRoutes(role).map((route) => ({ key: route.path, icon: route.icon, label: t(route.name) }));

  return (
    <AppLayout
      menuItems={menuItems}
      selectedKey={selectedMenuKey(location.pathname)}
      onMenuSelect={(key) => navigate(key)}
      headerRight={
        <>
          <HealthIndicator />
          <LanguageSwitch />
          <UserMenu />
        </>
      }
    >
      <Suspense
        fallback={
          <div style={{ padding: 80, textAlign: 'center' }}>
            <Spin size="large" />
          </div>
        }
      >
        <Outlet />
      </Suspense>
    </AppLayout>
  );
}
