/** Small labels shared by the AI panels: confidence, who wrote an analysis, severity, verdict. */
import { ApartmentOutlined, CheckOutlined, CloseOutlined, RobotOutlined } from '@ant-design/icons';
import { Tag, Tooltip } from 'antd';
import type { ReactNode } from 'react';
import type { AiConfidence, AnalysisMethod, FeedbackVerdict } from '@/lib/api-types';
import { useI18n } from '@/i18n/i18n';

const CONFIDENCE_COLOR: Record<AiConfidence, string> = { high: 'green', medium: 'gold', low: 'default' };

export function ConfidenceTag({ confidence, testId }: { confidence: AiConfidence; testId?: string }) {
  const { t } = useI18n();
  const known = confidence in CONFIDENCE_COLOR;
  return (
    <Tag color={known ? CONFIDENCE_COLOR[confidence] : 'default'} data-testid={testId}>
      {known ? t(`ai.confidence.${confidence}`) : String(confidence)}
    </Tag>
  );
}

/** `llm` or `correlator`; the correlator is always called out as "no LLM". */
export function MethodTag({ method, label }: { method: AnalysisMethod | string; label?: string }) {
  const { t } = useI18n();
  const tag =
    method === 'llm' ? (
      <Tag color="purple" icon={<RobotOutlined />} data-testid="analysis-method">
        {t('ai.method.llm')}
      </Tag>
    ) : method === 'correlator' ? (
      <Tag color="cyan" icon={<ApartmentOutlined />} data-testid="analysis-method">
        {t('ai.method.correlator')}
      </Tag>
    ) : (
      <Tag data-testid="analysis-method">{method}</Tag>
    );
  return label ? <Tooltip title={label}>{tag}</Tooltip> : tag;
}

const SEVERITY_COLOR: Record<string, string> = {
  critical: 'red',
  high: 'red',
  warning: 'orange',
  medium: 'orange',
  info: 'blue',
  low: 'blue',
};

export function SeverityTag({ severity }: { severity: string }) {
  return <Tag color={SEVERITY_COLOR[severity.toLowerCase()] ?? 'default'}>{severity}</Tag>;
}

export function VerdictTag({ verdict }: { verdict: FeedbackVerdict | string }) {
  const { t } = useI18n();
  if (verdict === 'correct') {
    return (
      <Tag color="success" icon={<CheckOutlined />}>
        {t('ai.feedback.correct')}
      </Tag>
    );
  }
  if (verdict === 'incorrect') {
    return (
      <Tag color="error" icon={<CloseOutlined />}>
        {t('ai.feedback.incorrect')}
      </Tag>
    );
  }
  return <Tag>{verdict}</Tag>;
}

/** Text from the server or a model, shown as typed: line breaks kept, nothing interpreted as HTML. */
export function PlainText({ text, testId }: { text: string; testId?: string }) {
  return (
    <div style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }} data-testid={testId}>
      {text}
    </div>
  );
}

/** A plain list of rows separated by hairlines (antd's `List` is deprecated in 6.6). */
export function StackedList<T>({ items, render, rowTestId }: { items: T[]; render: (item: T, index: number) => ReactNode; rowTestId?: string }) {
  return (
    <ul style={{ listStyle: 'none', margin: 0, padding: 0 }}>
      {items.map((item, index) => (
        <li
          key={index}
          data-testid={rowTestId}
          style={{ padding: '8px 0', borderTop: index === 0 ? undefined : '1px solid rgba(5, 5, 5, 0.06)' }}
        >
          {render(item, index)}
        </li>
      ))}
    </ul>
  );
}
