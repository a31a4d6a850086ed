/** The header's server-health dot, with each component's state in a popover. */
import { Badge, Button, Descriptions, Popover, Typography } from 'antd';
import type { HealthCheckState } from '@/lib/api-types';
import { formatDateTime } from '@/lib/time';
import { useI18n } from '@/i18n/i18n';
import type { MessageKey } from '@/i18n/zh-CN';
import { useHealth } from '../api/get-health';

type Overall = 'ok' | 'degraded' | 'unreachable' | 'checking';

const BADGE: Record<Overall, 'success' | 'warning' | 'error' | 'processing'> = {
  ok: 'success',
  degraded: 'warning',
  unreachable: 'error',
  checking: 'processing',
};

const STATE_TYPE: Record<HealthCheckState, 'success' | 'danger' | 'secondary'> = {
  ok: 'success',
  error: 'danger',
  disabled: 'secondary',
};

const COMPONENTS = ['api', 'database', 'redis'] as const;

export function HealthIndicator() {
  const { t } = useI18n();
  const { data, isError, isPending } = useHealth();

  const overall: Overall = isPending ? 'checking' : isError || !data ? 'unreachable' : data.status;
  const label = t(`health.${overall}` as MessageKey);

  const content = data ? (
    <div style={{ minWidth: 200 }}>
      <Descriptions
        size="small"
        column={1}
        items={COMPONENTS.map((component) => ({
          key: component,
          label: t(`health.component.${component}`),
          children: (
            <Typography.Text type={STATE_TYPE[data.checks[component]]}>
              {t(`health.state.${data.checks[component]}`)}
            </Typography.Text>
          ),
        }))}
      />
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('health.checkedAt', { time: formatDateTime(data.timestamp) ?? '-' })}
      </Typography.Text>
    </div>
  ) : (
    <Typography.Text type="secondary">{label}</Typography.Text>
  );

  return (
    <Popover content={content} title={label} placement="bottomRight">
      <Button type="text" data-testid="health-indicator" data-health={overall}>
        <Badge status={BADGE[overall]} text={label} />
      </Button>
    </Popover>
  );
}
