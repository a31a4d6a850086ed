/**
 * The console shell, in the manner of ant-design-pro's ProLayout: a collapsible side menu with the
 * logo, a header with the caller's actions on the right, and a scrolling content area.
 * It knows nothing about routes or roles: the app passes the menu it has already filtered.
 */
import { MenuFoldOutlined, MenuUnfoldOutlined } from '@ant-design/icons';
import { Button, Flex, Layout, Menu, theme, type MenuProps } from 'antd';
import { useState, type ReactNode } from 'react';
import { useI18n } from '@/i18n/i18n';
import { Logo } from '../Logo';

export type ShellMenuItem = Required<MenuProps>['items'][number];

export interface AppLayoutProps {
  menuItems: ShellMenuItem[];
  selectedKey: string | undefined;
  onMenuSelect: (key: string) => void;
  headerRight: ReactNode;
  children: ReactNode;
}

const SIDER_WIDTH = 220;
const HEADER_HEIGHT = 56;

export function AppLayout({ menuItems, selectedKey, onMenuSelect, headerRight, children }: AppLayoutProps) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const [collapsed, setCollapsed] = useState(false);

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        width={SIDER_WIDTH}
        collapsedWidth={64}
        collapsible
        collapsed={collapsed}
        onCollapse={setCollapsed}
        breakpoint="lg"
        trigger={null}
        theme="light"
        style={{
          borderRight: `1px solid ${token.colorBorderSecondary}`,
          position: 'sticky',
          top: 0,
          height: '100vh',
          overflow: 'auto',
        }}
      >
        <Flex
          align="center"
          justify={collapsed ? 'center' : 'flex-start'}
          style={{ height: HEADER_HEIGHT, padding: collapsed ? 0 : '0 20px' }}
        >
          <Logo collapsed={collapsed} />
        </Flex>
        <Menu
          mode="inline"
          items={menuItems}
          selectedKeys={selectedKey ? [selectedKey] : []}
          onClick={({ key }) => onMenuSelect(key)}
          style={{ borderInlineEnd: 'none', padding: '4px 0' }}
          aria-label="main navigation"
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            height: HEADER_HEIGHT,
            lineHeight: `${HEADER_HEIGHT}px`,
            padding: '0 16px 0 8px',
            background: token.colorBgContainer,
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
            position: 'sticky',
            top: 0,
            zIndex: 10,
          }}
        >
          <Flex justify="space-between" align="center" style={{ height: '100%' }}>
            <Button
              type="text"
              icon={collapsed ? <MenuUnfoldOutlined /> : <MenuFoldOutlined />}
              onClick={() => setCollapsed((value) => !value)}
              aria-label={collapsed ? t('layout.expand') : t('layout.collapse')}
            />
            <Flex align="center" gap={4}>
              {headerRight}
            </Flex>
          </Flex>
        </Layout.Header>
        <Layout.Content style={{ padding: 24, background: token.colorBgLayout }}>{children}</Layout.Content>
      </Layout>
    </Layout>
  );
}
