/**
 * The route table: each entry's `name`, `icon` and `access` drive the side menu, its path the
 * router. Pages are loaded with `import()` so each one is its own chunk.
 */
import {
  AlertOutlined,
  ApartmentOutlined,
  ApiOutlined,
  CloudServerOutlined,
  DashboardOutlined,
  DatabaseOutlined,
  FileTextOutlined,
  KeyOutlined,
  MedicineBoxOutlined,
  RobotOutlined,
  TeamOutlined,
} from '@ant-design/icons';
import type { ComponentType, ReactNode } from 'react';
import { Navigate } from 'react-router-dom';
import { ComingSoon } from '@/components/ComingSoon';
import type { Role } from '@/lib/api-types';
import type { MessageKey } from '@/i18n/zh-CN';
import { canAccess, type Access } from './access';
import {
  AgentTokensPage,
  AiPage,
  DashboardPage,
  HostDetailPage,
  HostsPage,
  RemediationDetailPage,
  RemediationsPage,
} from './lazy-pages';

export interface AppRoute {
  path: string;
  /** Menu label and page title. */
  name: MessageKey;
  icon: ReactNode;
  /** The minimum role. */
  access: Access;
  element: ReactNode;
  /** Pages reached from another page (a detail view) stay out of the menu. */
  hideInMenu?: boolean;
  /** The menu entry highlighted while this page is open, when it is not the page's own. */
  menuKey?: string;
}

function comingSoon(name: MessageKey, Icon: ComponentType): Pick<AppRoute, 'name' | 'icon' | 'element'> {
  return { name, icon: <Icon />, element: <ComingSoon titleKey={name} icon={<Icon />} /> };
}

export const APP_ROUTES: AppRoute[] = [
  { path: '/', name: 'menu.dashboard', icon: <DashboardOutlined />, access: 'viewer', element: <DashboardPage /> },
  { path: '/hosts', name: 'menu.hosts', icon: <CloudServerOutlined />, access: 'viewer', element: <HostsPage /> },
  {
    path: '/hosts/:id',
    name: 'menu.hosts',
    icon: <CloudServerOutlined />,
    access: 'viewer',
    element: <HostDetailPage />,
    hideInMenu: true,
    menuKey: '/hosts',
  },
  { path: '/services', access: 'viewer', ...comingSoon('menu.services', ApiOutlined) },
  { path: '/topology', access: 'viewer', ...comingSoon('menu.topology', ApartmentOutlined) },
  { path: '/logs', access: 'viewer', ...comingSoon('menu.logs', FileTextOutlined) },
  { path: '/databases', access: 'viewer', ...comingSoon('menu.databases', DatabaseOutlined) },
  { path: '/alerts', access: 'viewer', ...comingSoon('menu.alerts', AlertOutlined) },
  { path: '/ai', name: 'menu.ai', icon: <RobotOutlined />, access: 'viewer', element: <AiPage /> },
  {
    // The original client's address for this page.
    path: '/ai-analysis',
    name: 'menu.ai',
    icon: <RobotOutlined />,
    access: 'viewer',
    element: <Navigate to="/ai" replace />,
    hideInMenu: true,
    menuKey: '/ai',
  },
  {
    path: '/remediations',
    name: 'menu.remediation',
    icon: <MedicineBoxOutlined />,
    access: 'viewer',
    element: <RemediationsPage />,
  },
  {
    path: '/remediations/:id',
    name: 'menu.remediation',
    icon: <MedicineBoxOutlined />,
    access: 'viewer',
    element: <RemediationDetailPage />,
    hideInMenu: true,
    menuKey: '/remediations',
  },
  { path: '/agent-tokens', name: 'menu.agentTokens', icon: <KeyOutlined />, access: 'admin', element: <AgentTokensPage /> },
  { path: '/users', access: 'admin', ...comingSoon('menu.users', TeamOutlined) },
];

/** The routes that appear in the menu of a user with this role, in menu order. */
export function menuRoutes(role: Role | null | undefined): AppRoute[] {
  return APP_ROUTES.filter((route) => !route.hideInMenu && canAccess(role, route.access));
}

/** The menu key to highlight for a location: the longest menu path that prefixes it. */
export function selectedMenuKey(pathname: string): string | undefined {
  const matches = APP_ROUTES.filter((route) => !route.hideInMenu).filter((route) =>
    route.path === '/' ? pathname === '/' : pathname === route.path || pathname.startsWith(`${route.path}/`),
  );
  return matches.sort((a, b) => b.path.length - a.path.length)[0]?.path;
}
