/** "Correct" / "incorrect" on an analysis, with an optional comment; shows the verdict on record. */
import { DislikeOutlined, LikeOutlined } from '@ant-design/icons';
import { App, Button, Flex, Input, Typography } from 'antd';
import { useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import { RelativeTime } from '@/components/RelativeTime';
import type { FeedbackVerdict, InsightFeedback } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { useFeedback } from '../api/feedback';
import { VerdictTag } from './AiTags';

export function FeedbackButtons({ insightId, feedback }: { insightId: number; feedback?: InsightFeedback | null }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const describeError = useDescribeError();
  const mutation = useFeedback();
  const [comment, setComment] = useState('');
  const current = mutation.data?.id === insightId ? mutation.data.feedback : (feedback ?? null);

  const send = (verdict: FeedbackVerdict) => {
    const trimmed = comment.trim();
    mutation.mutate(
      { insightId, verdict, ...(trimmed ? { comment: trimmed } : {}) },
      {
        onSuccess: () => {
          setComment('');
          void message.success(t('ai.feedback.thanks'));
        },
        onError: (error) => void message.error(describeError(error)),
      },
    );
  };
  const pendingVerdict = mutation.isPending ? mutation.variables.verdict : null;

  return (
    <Flex vertical gap={8} data-testid="feedback">
      <Flex gap={8} wrap align="center">
        <Typography.Text type="secondary">{t('ai.feedback.question')}</Typography.Text>
        <Button
          size="small"
          icon={<LikeOutlined />}
          loading={pendingVerdict === 'correct'}
          disabled={mutation.isPending}
          onClick={() => send('correct')}
        >
          {t('ai.feedback.correct')}
        </Button>
        <Button
          size="small"
          danger
          icon={<DislikeOutlined />}
          loading={pendingVerdict === 'incorrect'}
          disabled={mutation.isPending}
          onClick={() => send('incorrect')}
        >
          {t('ai.feedback.incorrect')}
        </Button>
        <Input
          size="small"
          value={comment}
          onChange={(event) => setComment(event.target.value)}
          placeholder={t('ai.feedback.comment')}
          aria-label={t('ai.feedback.comment')}
          maxLength={500}
          style={{ width: 260 }}
        />
      </Flex>
      {current ? (
        <Flex gap={8} wrap align="center" data-testid="feedback-current">
          <Typography.Text type="secondary">{t('ai.feedback.recorded')}</Typography.Text>
          <VerdictTag verdict={current.verdict} />
          {current.comment ? <Typography.Text italic>“{current.comment}”</Typography.Text> : null}
          <Typography.Text type="secondary">
            <RelativeTime value={current.at} />
          </Typography.Text>
        </Flex>
      ) : null}
    </Flex>
  );
}
