/** The pages loaded on demand: each `import()` becomes its own chunk in the build. */
import { lazy } from 'react';

export const DashboardPage = lazy(() => import('@/features/dashboard/components/DashboardPage').then((m) => ({ default: m.DashboardPage })));
export const HostsPage = lazy(() => import('@/features/hosts/components/HostsPage').then((m) => ({ default: m.HostsPage })));
export const HostDetailPage = lazy(() =>
  import('@/features/hosts/components/HostDetailPage').then((m) => ({ default: m.HostDetailPage })),
);
export const AgentTokensPage = lazy(() =>
  import('@/features/agent-tokens/components/AgentTokensPage').then((m) => ({ default: m.AgentTokensPage })),
);
export const AiPage = lazy(() => import('@/features/ai/components/AiPage').then((m) => ({ default: m.AiPage })));
export const RemediationsPage = lazy(() =>
  import('@/features/remediation/components/RemediationsPage').then((m) => ({ default: m.RemediationsPage })),
);
export const RemediationDetailPage = lazy(() =>
  import('@/features/remediation/components/RemediationDetailPage').then((m) => ({ default: m.RemediationDetailPage })),
);
