/**
 * The page of a menu entry whose feature arrives in a later release. It deliberately shows no data:
 * a made-up number on a monitoring console is worse than none.
 */
import { Button, Card, Result } from 'antd';
import type { ReactNode } from 'react';
import { useNavigate } from 'react-router-dom';
import { useI18n } from '@/i18n/i18n';
import type { MessageKey } from '@/i18n/zh-CN';
import { PageContainer } from './PageContainer';

export function ComingSoon({ titleKey, icon }: { titleKey: MessageKey; icon: ReactNode }) {
  const { t } = useI18n();
  const title = t(titleKey);
  const navigate = useNavigate();
  return (
    <PageContainer title={title}>
      <Card>
        <Result
          icon={<span style={{ fontSize: 56, color: '#1677ff' }}>{icon}</span>}
          title={t('comingSoon.title', { page: title })}
          subTitle={t('comingSoon.description')}
          extra={
            <Button type="primary" onClick={() => navigate('/hosts')}>
              {t('comingSoon.goHosts')}
            </Button>
          }
        />
      </Card>
    </PageContainer>
  );
}
