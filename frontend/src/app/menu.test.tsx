import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockFetch } from '@/testing/fetch-mock';
import { consoleRoutes, signIn } from '@/testing/fixtures';
import { renderApp } from '@/testing/render';
import { menuRoutes, selectedMenuKey } from './routes';

const VIEWER_MENU = ['Dashboard', 'Hosts', 'Services', 'Topology', 'Logs', 'Databases', 'Alerts', 'AI analysis', 'Remediation'];
const ADMIN_ONLY = ['Agent tokens', 'Users'];

async function menuLabels(): Promise<string[]> {
  const menu = await screen.findByRole('menu', { name: 'main navigation' });
  return within(menu)
    .getAllByRole('menuitem')
    .map((item) => item.textContent ?? '');
}

describe('role-filtered menu', () => {
  it('shows a viewer the nine read-only areas and nothing else', async () => {
    signIn('viewer');
    mockFetch(consoleRoutes('viewer'));
    renderApp('/');
    expect(await menuLabels()).toEqual(VIEWER_MENU);
  });

  it('gives an admin agent tokens and users as well', async () => {
    signIn('admin');
    mockFetch(consoleRoutes('admin'));
    renderApp('/');
    expect(await menuLabels()).toEqual([...VIEWER_MENU, ...ADMIN_ONLY]);
  });

  it('follows the role /auth/me reports over a stale stored one', async () => {
    signIn('admin'); // stored by an earlier login; the server has since demoted the user
    mockFetch(consoleRoutes('viewer'));
    renderApp('/');
    await screen.findByText('Ada viewer');
    expect(await menuLabels()).toEqual(VIEWER_MENU);
  });

  it('refuses an admin page to a viewer who types its address', async () => {
    signIn('viewer');
    const server = mockFetch(consoleRoutes('viewer'));
    renderApp('/agent-tokens');
    expect(await screen.findByText('Access denied')).toBeInTheDocument();
    expect(server.callsTo('GET', '/api/v1/agent-tokens')).toHaveLength(0);
  });

  it('is derived from the route table', () => {
    expect(menuRoutes('operator').map((route) => route.path)).toEqual([
      '/',
      '/hosts',
      '/services',
      '/topology',
      '/logs',
      '/databases',
      '/alerts',
      '/ai',
      '/remediations',
    ]);
    expect(menuRoutes(null)).toEqual(menuRoutes('viewer'));
    expect(selectedMenuKey('/hosts/42')).toBe('/hosts');
    expect(selectedMenuKey('/')).toBe('/');
    expect(selectedMenuKey('/agent-tokens')).toBe('/agent-tokens');
    expect(selectedMenuKey('/ai')).toBe('/ai');
    expect(selectedMenuKey('/remediations/7')).toBe('/remediations');
  });

  it('labels the menu in Chinese by default', async () => {
    signIn('viewer');
    mockFetch(consoleRoutes('viewer'));
    renderApp('/', { locale: 'zh-CN' });
    expect(await menuLabels()).toEqual(['仪表盘', '主机', '服务监控', '拓扑', '日志', '数据库', '告警', 'AI 分析', '自动修复']);
  });
});
