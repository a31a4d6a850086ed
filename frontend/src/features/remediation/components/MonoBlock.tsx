/** Commands and their output, shown as typed: monospace, whitespace kept, nothing interpreted as HTML. */
import type { CSSProperties } from 'react';

const BASE: CSSProperties = {
  margin: 0,
  fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace",
  fontSize: 12,
  whiteSpace: 'pre-wrap',
  overflowWrap: 'anywhere',
};

/** A one-line command: a light code chip. */
export function CommandText({ command, testId }: { command: string; testId?: string }) {
  return (
    <pre style={{ ...BASE, background: 'rgba(0, 0, 0, 0.04)', borderRadius: 4, padding: '2px 6px', display: 'inline-block', maxWidth: '100%' }} data-testid={testId}>
      {command}
    </pre>
  );
}

/** A command's stdout or stderr: a dark terminal-like block that scrolls past 320 px. */
export function OutputBlock({ text, tone = 'stdout', testId }: { text: string; tone?: 'stdout' | 'stderr'; testId?: string }) {
  return (
    <pre
      style={{
        ...BASE,
        background: '#141414',
        color: tone === 'stderr' ? '#ffa39e' : '#d9d9d9',
        borderRadius: 6,
        padding: '8px 12px',
        maxHeight: 320,
        overflow: 'auto',
      }}
      data-testid={testId}
    >
      {text}
    </pre>
  );
}
