/** The header's avatar menu: who is logged in, with which role, and log out. */
import { LogoutOutlined, UserOutlined } from '@ant-design/icons';
import { App, Avatar, Button, Dropdown, Flex, Tag, Typography } from 'antd';
import { useNavigate } from 'react-router-dom';
import { getStoredRole } from '@/lib/session';
import { useI18n } from '@/i18n/i18n';
import { useMe } from '../api/me';
import { useEndSession } from '../hooks/useSession';

const ROLE_COLOR = { admin: 'gold', operator: 'blue', viewer: 'default' } as const;

export function UserMenu() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const endSession = useEndSession();
  const { data: user } = useMe();
  const role = user?.role ?? getStoredRole();

  const logout = () => {
    endSession();
    void message.success(t('layout.loggedOut'));
    void navigate('/login', { replace: true });
  };

  return (
    <Dropdown
      placement="bottomRight"
      menu={{
        items: [
          {
            key: 'who',
            disabled: true,
            label: (
              <Flex vertical style={{ padding: '4px 0', cursor: 'default' }}>
                <Typography.Text strong>{user?.name ?? '-'}</Typography.Text>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {user?.email}
                </Typography.Text>
              </Flex>
            ),
          },
          { type: 'divider' },
          { key: 'logout', icon: <LogoutOutlined />, label: t('layout.logout'), danger: true, onClick: logout },
        ],
      }}
    >
      <Button type="text" data-testid="user-menu" style={{ height: 40 }}>
        <Flex align="center" gap={8}>
          <Avatar size={28} icon={<UserOutlined />} style={{ background: '#1677ff' }} />
          <span>{user?.name ?? ''}</span>
          {role ? <Tag color={ROLE_COLOR[role]} style={{ marginInlineEnd: 0 }}>{t(`role.${role}`)}</Tag> : null}
        </Flex>
      </Button>
    </Dropdown>
  );
}
