/**
 * The safety switches of auto-remediation, always in view above the runs: dry run, automatic runs
 * on or off (the kill switch, which an admin can flip here), and whether runs can reach agents.
 * The switch is offered to everyone; the server refuses it to non-admins and the refusal is shown.
 */
import { SafetyCertificateOutlined, WarningOutlined } from '@ant-design/icons';
import { Alert, App, Flex, Popconfirm, Space, Switch, Tag, Tooltip, Typography } from 'antd';
import { useDescribeError } from '@/components/api-error';
import { useI18n } from '@/i18n/i18n';
import { useRemediationSettings, useUpdateRemediationSettings } from '../api/remediation-settings';

function OnOff({ on, onText, offText, onColor = 'success', offColor = 'default' }: { on: boolean; onText: string; offText: string; onColor?: string; offColor?: string }) {
  return <Tag color={on ? onColor : offColor}>{on ? onText : offText}</Tag>;
}

export function SafetySwitchesBanner() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const describeError = useDescribeError();
  const { data: settings, error } = useRemediationSettings();
  const update = useUpdateRemediationSettings();

  if (error && !settings) {
    return <Alert type="warning" showIcon data-testid="safety-switches" title={t('remediation.settings.loadFailed')} description={describeError(error)} />;
  }
  if (!settings) return null;

  const toggle = async () => {
    try {
      const next = await update.mutateAsync({ automatic_enabled: !settings.automatic_enabled });
      void message.success(next.automatic_enabled ? t('remediation.settings.automaticNowOn') : t('remediation.settings.automaticNowOff'));
    } catch (failure) {
      void message.error(describeError(failure));
    }
  };

  // A dry run or an unreachable agent is what an operator most needs to notice: it changes what
  // "success" in the list means.
  const type = settings.dry_run || !settings.agent_enabled ? 'warning' : 'info';

  return (
    <Alert
      type={type}
      showIcon
      icon={type === 'warning' ? <WarningOutlined /> : <SafetyCertificateOutlined />}
      data-testid="safety-switches"
      title={
        <Flex wrap gap={16} align="center">
          <Typography.Text strong>{t('remediation.settings.title')}</Typography.Text>
          <Space size={4} data-testid="switch-dry-run" data-on={settings.dry_run}>
            {t('remediation.settings.dryRun')}
            <OnOff on={settings.dry_run} onText={t('remediation.settings.dryRunOn')} offText={t('remediation.settings.dryRunOff')} onColor="magenta" offColor="success" />
          </Space>
          <Space size={4} data-testid="switch-agent" data-on={settings.agent_enabled}>
            {t('remediation.settings.agent')}
            <OnOff on={settings.agent_enabled} onText={t('remediation.settings.on')} offText={t('remediation.settings.off')} offColor="error" />
          </Space>
          <Space size={4}>
            {t('remediation.settings.automatic')}
            <Tooltip title={t('remediation.settings.adminOnly')}>
              <Popconfirm
                title={settings.automatic_enabled ? t('remediation.settings.turnOffTitle') : t('remediation.settings.turnOnTitle')}
                description={<div style={{ maxWidth: 300 }}>{settings.automatic_enabled ? t('remediation.settings.turnOffDescription') : t('remediation.settings.turnOnDescription')}</div>}
                okText={t('remediation.settings.confirm')}
                cancelText={t('common.cancel')}
                onConfirm={toggle}
              >
                <Switch
                  size="small"
                  checked={settings.automatic_enabled}
                  loading={update.isPending}
                  checkedChildren={t('remediation.settings.on')}
                  unCheckedChildren={t('remediation.settings.off')}
                  aria-label={t('remediation.settings.automatic')}
                  data-testid="automatic-switch"
                />
              </Popconfirm>
            </Tooltip>
          </Space>
          <Typography.Text type="secondary">
            {t('remediation.settings.limits', { perHour: settings.max_auto_per_hour, minutes: settings.approval_minutes })}
          </Typography.Text>
        </Flex>
      }
    />
  );
}
