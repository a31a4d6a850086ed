/** The frame of every page: a title row (with optional back link, subtitle and actions) and the body. */
import { ArrowLeftOutlined } from '@ant-design/icons';
import { Button, Flex, Typography } from 'antd';
import { useEffect, type ReactNode } from 'react';
import { useNavigate } from 'react-router-dom';

export interface PageContainerProps {
  title: ReactNode;
  /** Used for the document title when `title` is not plain text. */
  documentTitle?: string;
  subtitle?: ReactNode;
  extra?: ReactNode;
  /** Shows a back arrow to this path. */
  backTo?: string;
  children: ReactNode;
}

export function PageContainer({ title, documentTitle, subtitle, extra, backTo, children }: PageContainerProps) {
  const navigate = useNavigate();
  const plainTitle = documentTitle ?? (typeof title === 'string' ? title : undefined);

  useEffect(() => {
    document.title = plainTitle ? `${plainTitle} · VigilOps` : 'VigilOps';
  }, [plainTitle]);

  return (
    <div>
      <Flex justify="space-between" align="flex-start" gap={16} wrap style={{ marginBottom: 16 }}>
        <Flex align="flex-start" gap={8}>
          {backTo ? (
            <Button
              type="text"
              icon={<ArrowLeftOutlined />}
              aria-label="back"
              onClick={() => navigate(backTo)}
              style={{ marginTop: 2 }}
            />
          ) : null}
          <div>
            <Typography.Title level={4} style={{ margin: 0 }}>
              {title}
            </Typography.Title>
            {subtitle ? (
              <Typography.Text type="secondary" style={{ display: 'block', marginTop: 4 }}>
                {subtitle}
              </Typography.Text>
            ) : null}
          </div>
        </Flex>
        {extra ? <Flex gap={8} wrap>{extra}</Flex> : null}
      </Flex>
      {children}
    </div>
  );
}
