/**
 * The ops chat: each question's answer streams in as the model writes it. Without a model the
 * server refuses the stream (503) and the non-streamed route answers instead. The conversation
 * lives in this component only; it is gone when the page is left.
 */
import { DatabaseOutlined, LoadingOutlined, SendOutlined, StopOutlined, UserOutlined } from '@ant-design/icons';
import { Alert, Avatar, Button, Card, Collapse, Empty, Flex, Input, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useDescribeError } from '@/components/api-error';
import type { ChatSource } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';
import { streamChat, type ChatStreamEvent } from '../api/chat';
import { PlainText } from './AiTags';

interface ChatTurn {
  id: number;
  question: string;
  answer: string;
  sources: ChatSource[];
  memoryContext: string[];
  status: 'streaming' | 'done' | 'error';
  /** The stream's or the fallback's error. */
  error: string | null;
  insightId: number | null;
  /** Answered by the non-streamed route because the server has no model for streaming. */
  fallback: boolean;
  /** Stopped by the user before the answer was complete. */
  stopped: boolean;
}

function applyEvent(turn: ChatTurn, event: ChatStreamEvent): ChatTurn {
  switch (event.type) {
    case 'context':
      return { ...turn, sources: event.sources, memoryContext: event.memory_context };
    case 'delta':
      return { ...turn, answer: turn.answer + event.text };
    case 'done':
      return { ...turn, status: 'done', insightId: event.insight_id };
    case 'error':
      return { ...turn, status: 'error', error: event.detail };
  }
}

function TurnView({ turn }: { turn: ChatTurn }) {
  const { t } = useI18n();
  const hasContext = turn.sources.length > 0 || turn.memoryContext.length > 0;
  return (
    <Flex vertical gap={8} data-testid="chat-turn">
      <Flex gap={8} align="flex-start">
        <Avatar size="small" icon={<UserOutlined />} />
        <Typography.Text strong style={{ whiteSpace: 'pre-wrap' }}>
          {turn.question}
        </Typography.Text>
      </Flex>
      <Card size="small" style={{ marginInlineStart: 32 }}>
        <Flex vertical gap={8}>
          {turn.answer ? (
            <PlainText text={turn.answer} testId="chat-answer" />
          ) : turn.status === 'streaming' ? (
            <Typography.Text type="secondary">
              <LoadingOutlined /> {t('ai.chat.thinking')}
            </Typography.Text>
          ) : null}
          {turn.status === 'streaming' && turn.answer ? <LoadingOutlined aria-label={t('ai.chat.streaming')} /> : null}
          {turn.error ? <Alert type={turn.fallback ? 'warning' : 'error'} showIcon title={turn.error} data-testid="chat-error" /> : null}
          <Flex gap={8} wrap align="center">
            {turn.fallback ? <Tag>{t('ai.chat.notStreamed')}</Tag> : null}
            {turn.stopped ? <Tag color="warning">{t('ai.chat.stopped')}</Tag> : null}
            {turn.insightId !== null ? <Tag>{t('ai.chat.savedAs', { id: turn.insightId })}</Tag> : null}
          </Flex>
          {hasContext ? (
            <Collapse
              size="small"
              ghost
              items={[
                {
                  key: 'context',
                  label: t('ai.chat.context', { count: turn.sources.length + turn.memoryContext.length }),
                  children: (
                    <Flex vertical gap={6}>
                      {turn.sources.map((source, index) => (
                        <Flex key={`s${index}`} gap={8} align="flex-start">
                          <Tag color="blue">{source.type}</Tag>
                          <Typography.Text>{source.summary}</Typography.Text>
                        </Flex>
                      ))}
                      {turn.memoryContext.map((memory, index) => (
                        <Flex key={`m${index}`} gap={8} align="flex-start">
                          <Tooltip title={t('ai.chat.memory')}>
                            <DatabaseOutlined style={{ marginTop: 4 }} />
                          </Tooltip>
                          <PlainText text={memory} />
                        </Flex>
                      ))}
                    </Flex>
                  ),
                },
              ]}
            />
          ) : null}
        </Flex>
      </Card>
    </Flex>
  );
}

export function ChatPanel() {
  const { t } = useI18n();
  const describeError = useDescribeError();
  const [question, setQuestion] = useState('');
  const [turns, setTurns] = useState<ChatTurn[]>([]);
  const nextId = useRef(1);
  const controller = useRef<AbortController | null>(null);
  const busy = turns.some((turn) => turn.status === 'streaming');

  // Leaving the page stops a running answer.
  useEffect(() => () => controller.current?.abort(), []);

  const ask = async () => {
    const text = question.trim();
    if (!text || busy) return;
    const id = nextId.current++;
    const update = (change: (turn: ChatTurn) => ChatTurn) =>
      setTurns((previous) => previous.map((turn) => (turn.id === id ? change(turn) : turn)));
    setTurns((previous) => [
      ...previous,
      { id, question: text, answer: '', sources: [], memoryContext: [], status: 'streaming', error: null, insightId: null, fallback: false, stopped: false },
    ]);
    setQuestion('');
    const abort = new AbortController();
    controller.current = abort;
    try {
      const result = await streamChat(text, (event) => update((turn) => applyEvent(turn, event)), abort.signal);
      if (result === 'streamed') {
        // A stream that ended without `done` or `error` still ends the turn.
        update((turn) => (turn.status === 'streaming' ? { ...turn, status: 'done' } : turn));
      } else {
        update((turn) => ({
          ...turn,
          answer: result.answer,
          sources: result.sources,
          memoryContext: result.memory_context,
          insightId: result.insight_id,
          error: result.error,
          fallback: true,
          status: result.error && !result.answer ? 'error' : 'done',
        }));
      }
    } catch (error) {
      if (abort.signal.aborted) return;
      update((turn) => ({ ...turn, status: 'error', error: describeError(error) }));
    } finally {
      if (controller.current === abort) controller.current = null;
    }
  };

  const stop = () => {
    controller.current?.abort();
    controller.current = null;
    setTurns((previous) => previous.map((turn) => (turn.status === 'streaming' ? { ...turn, status: 'done', stopped: true } : turn)));
  };

  return (
    <Flex vertical gap={16}>
      {turns.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('ai.chat.empty')} />
      ) : (
        <Flex vertical gap={16} aria-live="polite" data-testid="chat-conversation">
          {turns.map((turn) => (
            <TurnView key={turn.id} turn={turn} />
          ))}
        </Flex>
      )}
      <Flex gap={8} align="flex-end">
        <Input.TextArea
          value={question}
          onChange={(event) => setQuestion(event.target.value)}
          onPressEnter={(event) => {
            if (!event.shiftKey) {
              event.preventDefault();
              void ask();
            }
          }}
          rows={3}
          maxLength={2000}
          placeholder={t('ai.chat.placeholder')}
          aria-label={t('ai.chat.question')}
          data-testid="chat-question"
        />
        {busy ? (
          <Button icon={<StopOutlined />} onClick={stop} data-testid="chat-stop">
            {t('ai.chat.stop')}
          </Button>
        ) : (
          <Button type="primary" icon={<SendOutlined />} onClick={() => void ask()} disabled={!question.trim()}>
            {t('ai.chat.send')}
          </Button>
        )}
      </Flex>
    </Flex>
  );
}
