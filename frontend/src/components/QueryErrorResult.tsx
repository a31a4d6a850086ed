/** The error state of a page whose data failed to load, with a retry button. */
import { ReloadOutlined } from '@ant-design/icons';
import { Button, Result } from 'antd';
import { useI18n } from '@/i18n/i18n';
import { describeError } from './api-error';

export function QueryErrorResult({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  return (
    <Result
      status="warning"
      title={t('error.loadFailed')}
      subTitle={describeError(error, t)}
      extra={
        onRetry ? (
          <Button icon={<ReloadOutlined />} onClick={onRetry}>
            {t('common.retry')}
          </Button>
        ) : null
      }
    />
  );
}
