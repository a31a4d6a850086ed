/** Online / offline tag of a host. */
import { CheckCircleFilled, CloseCircleFilled } from '@ant-design/icons';
import { Tag } from 'antd';
import type { HostStatus } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';

export function HostStatusTag({ status }: { status: HostStatus }) {
  const { t } = useI18n();
  return status === 'online' ? (
    <Tag color="success" icon={<CheckCircleFilled />}>
      {t('hosts.status.online')}
    </Tag>
  ) : (
    <Tag color="default" icon={<CloseCircleFilled />}>
      {t('hosts.status.offline')}
    </Tag>
  );
}
