import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { PointerEventsCheckLevel } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { AiSystemSummary, AnalyzeLogsResponse, ChatResponse, Insight, RootCauseResponse } from '@/lib/api-types';
import { json, mockFetch, type MockHandler } from '@/testing/fetch-mock';
import { consoleRoutes, page, signIn, tokenPair } from '@/testing/fixtures';
import { renderApp } from '@/testing/render';

const summary: AiSystemSummary = {
  hosts: { total: 5, online: 4, offline: 1 },
  services: { total: 3, up: 2, down: 1 },
  recent_1h: { alert_count: 7, error_log_count: 120 },
  avg_usage: { cpu_percent: 41.5, memory_percent: 63.2 },
};

function rootCause(overrides: Partial<RootCauseResponse['analysis']> = {}, error: string | null = null): RootCauseResponse {
  return {
    alert_id: 42,
    analysis: {
      root_cause: 'postgres on db-01 ran out of disk first',
      confidence: 'high',
      evidence: ['disk filled up [E1, E2]'],
      recommendations: ['Free space on /var/lib/postgresql\nthen restart postgres'],
      method: 'correlator',
      label: 'Deterministic evidence correlation (no LLM)',
      insufficient_evidence: true,
      first_failing_component: 'service:postgres@db-01',
      claims: [
        { statement: 'The disk of db-01 filled up before the API failed', evidence: ['E1', 'E2'] },
        { statement: 'A cited id that does not exist', evidence: ['E9'] },
      ],
      hypotheses: [
        { cause: 'disk full on db-01', confidence: 'high', evidence: ['E1'], rejected_because: null },
        { cause: 'network partition', confidence: 'low', evidence: ['E3'], rejected_because: 'no packet loss before the alert' },
      ],
      recommended_runbook: 'disk_cleanup',
      warnings: ['claim "cosmic rays" cites no evidence and was dropped'],
      ...overrides,
    },
    memory_context: ['disk full on db-01 in October, fixed by disk_cleanup'],
    evidence_items: [
      {
        id: 'E1',
        component: 'host:db-01',
        reference: { type: 'metric_series', host_id: 3, metric: 'disk_percent', from: '2026-11-27T01:00:00Z', to: '2026-11-27T02:00:00Z' },
        summary: 'disk_percent rose from 71 to 100',
        onset: '2026-11-27T01:40:00Z',
        anomalous: true,
        strength: 0.9,
      },
      {
        id: 'E2',
        component: 'service:postgres@db-01',
        reference: { type: 'logs', log_ids: [12, 13], count: 9, from: '2026-11-27T01:41:00Z', to: '2026-11-27T01:50:00Z' },
        summary: 'ERROR could not write to file: No space left on device',
        onset: '2026-11-27T01:41:00Z',
        anomalous: true,
        strength: 0.8,
      },
      {
        id: 'E3',
        component: 'memory',
        reference: { type: 'memory', memory_id: 5 },
        summary: 'seen before',
        onset: null,
        anomalous: false,
        strength: 0,
      },
    ],
    similar_incidents: [
      {
        id: 5,
        title: 'db-01 disk full',
        content: 'postgres stopped writing',
        outcome: 'resolved by cleanup',
        runbook: 'disk_cleanup',
        verdict: 'correct',
        created_at: '2026-10-02T08:00:00Z',
        score: 0.87,
        alert_id: 17,
      },
    ],
    insight_id: 77,
    error,
  };
}

function insight(id: number, overrides: Partial<Insight> = {}): Insight {
  return {
    id,
    insight_type: 'chat',
    severity: 'info',
    title: `Insight ${id}`,
    summary: `summary ${id}`,
    details: null,
    related_host_id: null,
    related_alert_id: null,
    status: 'new',
    created_at: '2026-11-27T01:00:00Z',
    method: 'llm',
    model: 'deepseek-chat',
    feedback: null,
    ...overrides,
  };
}

function aiRoutes(extra: Record<string, MockHandler> = {}): Record<string, MockHandler> {
  return {
    ...consoleRoutes('viewer'),
    'GET /api/v1/ai/system-summary': () => json(200, summary),
    'GET /api/v1/ai/insights': () => json(200, page([], 0, 1, 10)),
    ...extra,
  };
}

function user() {
  return userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
}

/** A streamed response the test writes into chunk by chunk. */
function controlledStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const encoder = new TextEncoder();
  return {
    response: () => new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    write: (text: string) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
  };
}

describe('AI page: root cause', () => {
  it('runs the analysis of the alert in the URL and shows it with its evidence', async () => {
    signIn('viewer');
    const server = mockFetch(
      aiRoutes({
        'POST /api/v1/ai/root-cause': () => json(200, rootCause({}, 'the language model failed (timeout); showing the deterministic correlation instead')),
      }),
    );
    renderApp('/ai?alert=42');

    expect(await screen.findByTestId('root-cause-text')).toHaveTextContent('postgres on db-01 ran out of disk first');
    const call = server.callsTo('POST', '/api/v1/ai/root-cause')[0]!;
    expect(call.url.searchParams.get('alert_id')).toBe('42');
    expect(call.body).toBeUndefined();
    expect(server.callsTo('POST', '/api/v1/ai/root-cause')).toHaveLength(1);

    // Who wrote it, said plainly.
    expect(screen.getByTestId('analysis-method')).toHaveTextContent('Correlator (no LLM)');
    expect(screen.getByTestId('analysis-label')).toHaveTextContent('Deterministic evidence correlation (no LLM)');
    expect(screen.getByTestId('confidence')).toHaveTextContent('Confidence: high');
    expect(screen.getByTestId('insufficient-evidence')).toHaveTextContent('Insufficient evidence');
    expect(screen.getByTestId('model-error')).toHaveTextContent('the language model failed (timeout)');
    expect(screen.getByTestId('first-failing')).toHaveTextContent('service:postgres@db-01');
    expect(screen.getByText('disk_cleanup', { selector: '.ant-descriptions *' })).toBeInTheDocument();
    expect(screen.getByTestId('analysis-warnings')).toHaveTextContent('cites no evidence and was dropped');
    expect(screen.getByTestId('recommendations').textContent).toContain('/var/lib/postgresql\nthen restart');
    expect(screen.getByText('no packet loss before the alert', { exact: false })).toBeInTheDocument();
    expect(screen.getByText('db-01 disk full')).toBeInTheDocument();

    // Readable references; the metric series links to its host.
    expect(screen.getByText('logs #12, #13 (×9)')).toBeInTheDocument();
    expect(screen.getByText('disk_percent of host #3').closest('a')).toHaveAttribute('href', '/hosts/3');
    expect(screen.getByText('past incident #5')).toBeInTheDocument();
  });

  it('links each claim to the evidence rows it cites', async () => {
    signIn('viewer');
    mockFetch(aiRoutes({ 'POST /api/v1/ai/root-cause': () => json(200, rootCause()) }));
    renderApp('/ai?alert=42');
    const events = user();

    const claims = await screen.findAllByTestId('claim');
    expect(claims).toHaveLength(2);
    const row = (id: string) => document.querySelector(`tr[data-evidence-id="${id}"]`)!;
    expect(row('E2')).toHaveAttribute('aria-selected', 'false');

    await events.click(within(claims[0]!).getByRole('button', { name: 'Show evidence E2' }));
    await waitFor(() => expect(row('E2')).toHaveAttribute('aria-selected', 'true'));
    expect(row('E1')).toHaveAttribute('aria-selected', 'false');

    // Keyboard works too.
    within(claims[0]!).getByRole('button', { name: 'Show evidence E1' }).focus();
    await events.keyboard('{Enter}');
    await waitFor(() => expect(row('E1')).toHaveAttribute('aria-selected', 'true'));

    // An id that is not among the evidence is marked, not clickable.
    expect(within(claims[1]!).getByTestId('evidence-link-E9')).not.toHaveAttribute('role', 'button');
  });

  it('analyses a typed alert id, remembers it in the URL, and sends feedback', async () => {
    signIn('viewer');
    const server = mockFetch(
      aiRoutes({
        'POST /api/v1/ai/root-cause': () => json(200, rootCause({ method: 'llm', label: 'AI analysis (LLM), checked against the evidence', insufficient_evidence: false })),
        'POST /api/v1/ai/insights/:id/feedback': ({ params, body }) =>
          json(200, insight(Number(params.id), { insight_type: 'root_cause', feedback: { ...(body as { verdict: 'correct' }), comment: 'spot on', by: 1, at: new Date().toISOString() } })),
      }),
    );
    const app = renderApp('/ai');
    const events = user();

    await events.type(await screen.findByLabelText('Alert ID'), '42');
    await events.click(screen.getByRole('button', { name: /Analyse/ }));
    await screen.findByTestId('root-cause-text');
    expect(server.callsTo('POST', '/api/v1/ai/root-cause')[0]!.url.search).toBe('?alert_id=42');
    await waitFor(() => expect(app.currentPath()).toBe('/ai?alert=42'));
    // Putting the id in the URL does not run the analysis a second time.
    expect(server.callsTo('POST', '/api/v1/ai/root-cause')).toHaveLength(1);
    expect(screen.getByTestId('analysis-method')).toHaveTextContent('AI analysis (LLM)');
    expect(screen.queryByTestId('insufficient-evidence')).toBeNull();
    expect(screen.queryByTestId('model-error')).toBeNull();

    await events.click(screen.getByLabelText('Comment (optional)'));
    await events.paste('spot on');
    await events.click(screen.getByRole('button', { name: /^like Correct$|^Correct$/ }));
    await waitFor(() => expect(server.callsTo('POST', '/api/v1/ai/insights/77/feedback')).toHaveLength(1));
    expect(server.callsTo('POST', '/api/v1/ai/insights/77/feedback')[0]!.body).toEqual({ verdict: 'correct', comment: 'spot on' });
    expect(await screen.findByTestId('feedback-current')).toHaveTextContent('Correct');
    expect(screen.getByTestId('feedback-current')).toHaveTextContent('spot on');
  });

  it('shows the detail of a failed analysis', async () => {
    signIn('viewer');
    mockFetch(aiRoutes({ 'POST /api/v1/ai/root-cause': () => json(404, { detail: 'Alert not found' }) }));
    renderApp('/ai?alert=999');
    expect(await screen.findByTestId('root-cause-error')).toHaveTextContent('Alert not found');
  });

  it('shows the system summary strip', async () => {
    signIn('viewer');
    mockFetch(aiRoutes());
    renderApp('/ai');
    const strip = await screen.findByTestId('system-summary');
    expect(strip).toHaveTextContent('Hosts online');
    expect(strip).toHaveTextContent('/ 5');
    expect(strip).toHaveTextContent('Error logs (last hour)');
    expect(strip).toHaveTextContent('120');
  });
});

describe('AI page: ops chat', () => {
  it('streams the answer in as it arrives, with the bearer token', async () => {
    signIn('viewer');
    const stream = controlledStream();
    const server = mockFetch(aiRoutes({ 'POST /api/v1/ai/chat/stream': () => stream.response() }));
    renderApp('/ai?tab=chat');
    const events = user();

    await events.click(await screen.findByLabelText('Question'));
    await events.paste('Why is db-01 slow?');
    await events.click(screen.getByRole('button', { name: /Send/ }));
    await waitFor(() => expect(server.callsTo('POST', '/api/v1/ai/chat/stream')).toHaveLength(1));
    const call = server.callsTo('POST', '/api/v1/ai/chat/stream')[0]!;
    expect(call.body).toEqual({ question: 'Why is db-01 slow?' });
    expect(call.headers.get('Authorization')).toBe(`Bearer ${tokenPair.access_token}`);
    expect(await screen.findByText('Thinking…', { exact: false })).toBeInTheDocument();

    // Events split across chunks, a keep-alive comment, CRLF line ends.
    stream.write('event: context\r\ndata: {"sources":[{"type":"host","summary":"db-01 disk 100%"}],');
    stream.write('"memory_context":["disk full in October"]}\r\n\r\n: keep-alive\r\n\r\nevent: delta\r\ndata: {"text":"The disk ');
    stream.write('is full."}\r\n\r\n');
    await waitFor(() => expect(screen.getByTestId('chat-answer')).toHaveTextContent('The disk is full.'));
    // While it streams, the only action is to stop it.
    expect(screen.queryByRole('button', { name: /Send/ })).toBeNull();
    expect(screen.getByTestId('chat-stop')).toBeInTheDocument();

    stream.write('event: delta\ndata: {"text":"\\nRun disk_cleanup."}\n\nevent: done\ndata: {"insight_id":31}\n\n');
    stream.close();
    await waitFor(() => expect(screen.getByTestId('chat-answer').textContent).toBe('The disk is full.\nRun disk_cleanup.'));
    expect(await screen.findByText('Saved as insight #31')).toBeInTheDocument();
    expect(screen.getByText('Context used (2)')).toBeInTheDocument();
    // Model text is text: nothing in it becomes markup.
    expect(screen.getByTestId('chat-answer').querySelector('*')).toBeNull();
  });

  it('stops an answer on request and keeps what had arrived', async () => {
    signIn('viewer');
    const stream = controlledStream();
    mockFetch(aiRoutes({ 'POST /api/v1/ai/chat/stream': () => stream.response() }));
    renderApp('/ai?tab=chat');
    const events = user();

    await events.click(await screen.findByLabelText('Question'));
    await events.paste('Tell me everything');
    await events.keyboard('{Enter}');
    stream.write('event: delta\ndata: {"text":"First part"}\n\n');
    await waitFor(() => expect(screen.getByTestId('chat-answer')).toHaveTextContent('First part'));
    await events.click(screen.getByTestId('chat-stop'));
    expect(await screen.findByText('Stopped')).toBeInTheDocument();
    expect(screen.getByTestId('chat-answer')).toHaveTextContent('First part');
    expect(screen.queryByTestId('chat-error')).toBeNull();
    expect(screen.getByRole('button', { name: /Send/ })).toBeInTheDocument();
  });

  it('shows an error event of the stream', async () => {
    signIn('viewer');
    mockFetch(
      aiRoutes({
        'POST /api/v1/ai/chat/stream': () =>
          new Response('event: delta\ndata: {"text":"Partial"}\n\nevent: error\ndata: {"detail":"the provider closed the connection"}\n\n', {
            status: 200,
            headers: { 'Content-Type': 'text/event-stream' },
          }),
      }),
    );
    renderApp('/ai?tab=chat');
    const events = user();
    await events.click(await screen.findByLabelText('Question'));
    await events.paste('hello');
    await events.keyboard('{Enter}');
    expect(await screen.findByTestId('chat-error')).toHaveTextContent('the provider closed the connection');
    expect(screen.getByTestId('chat-answer')).toHaveTextContent('Partial');
  });

  it('falls back to the non-streamed chat when the server has no model (503)', async () => {
    signIn('viewer');
    const fallback: ChatResponse = {
      answer: '',
      sources: [],
      memory_context: [],
      insight_id: null,
      error: 'AI is not configured: set AI_API_KEY',
    };
    const server = mockFetch(
      aiRoutes({
        'POST /api/v1/ai/chat/stream': () => json(503, { detail: 'AI is not configured: set AI_API_KEY' }),
        'POST /api/v1/ai/chat': () => json(200, fallback),
      }),
    );
    const app = renderApp('/ai');
    const events = user();

    await events.click(await screen.findByRole('tab', { name: /Ops chat/ }));
    await waitFor(() => expect(app.currentPath()).toBe('/ai?tab=chat'));
    await events.click(screen.getByLabelText('Question'));
    await events.paste('What is wrong?');
    await events.click(screen.getByRole('button', { name: /Send/ }));

    expect(await screen.findByTestId('chat-error')).toHaveTextContent('AI is not configured: set AI_API_KEY');
    expect(screen.getByText('Not streamed')).toBeInTheDocument();
    expect(server.callsTo('POST', '/api/v1/ai/chat')[0]!.body).toEqual({ question: 'What is wrong?' });
    // The session survives a 503.
    expect(localStorage.getItem('access_token')).toBe(tokenPair.access_token);
  });
});

describe('AI page: log analysis', () => {
  it('shows the error banner but still the deterministic analysis and the patterns', async () => {
    signIn('viewer');
    const reply: AnalyzeLogsResponse = {
      success: false,
      analysis: {
        severity: 'warning',
        title: '2 log patterns in the last hour',
        summary: 'Mostly disk errors on db-01',
        anomalies: [{ pattern: 'No space left on device', count: 40, risk: 'high', suggestion: 'free disk space' }],
        overall_assessment: 'disk pressure',
        method: 'correlator',
      },
      error: 'AI is not configured: set AI_API_KEY',
      log_count: 52,
      patterns: [
        {
          level: 'ERROR',
          template: 'could not write to file <*>: No space left on device',
          count: 40,
          first_seen: '2026-11-27T01:41:00Z',
          last_seen: '2026-11-27T01:50:00Z',
          host_ids: [3],
          services: ['postgres'],
          example_log_ids: [12, 13],
          example: 'could not write to file base/16384: No space left on device',
        },
      ],
      insight_id: null,
    };
    const server = mockFetch(aiRoutes({ 'POST /api/v1/ai/analyze-logs': () => json(200, reply) }));
    renderApp('/ai?tab=logs');
    const events = user();

    await events.click(await screen.findByRole('button', { name: /Analyse logs/ }));
    expect(await screen.findByTestId('log-analysis-banner')).toHaveTextContent('AI is not configured: set AI_API_KEY');
    expect(server.callsTo('POST', '/api/v1/ai/analyze-logs')[0]!.body).toEqual({ hours: 1 });
    expect(screen.getByText('could not write to file <*>: No space left on device')).toBeInTheDocument();
    expect(screen.getByText('#3').closest('a')).toHaveAttribute('href', '/hosts/3');
    expect(screen.getByText('2 log patterns in the last hour')).toBeInTheDocument();
    expect(screen.getByText('free disk space')).toBeInTheDocument();
    expect(screen.getByTestId('log-analysis-result')).toHaveTextContent('52');
  });

  it('sends the host and level filters', async () => {
    signIn('viewer');
    const server = mockFetch(
      aiRoutes({
        'POST /api/v1/ai/analyze-logs': () => json(200, { success: true, analysis: null, error: null, log_count: 0, patterns: [], insight_id: 4 }),
      }),
    );
    renderApp('/ai?tab=logs');
    const events = user();

    const hours = await screen.findByLabelText('Time range (hours)');
    await events.clear(hours);
    await events.type(hours, '6');
    await events.type(screen.getByLabelText('Host ID (optional)'), '3');
    await events.click(screen.getByRole('combobox', { name: 'Level (default: warnings and errors)' }));
    await events.click(await screen.findByTitle('ERROR'));
    await events.click(screen.getByRole('button', { name: /Analyse logs/ }));
    await waitFor(() => expect(server.callsTo('POST', '/api/v1/ai/analyze-logs')).toHaveLength(1));
    expect(server.callsTo('POST', '/api/v1/ai/analyze-logs')[0]!.body).toEqual({ hours: 6, host_id: 3, level: 'ERROR' });
    expect(await screen.findByText('No logs in this time range')).toBeInTheDocument();
  });
});

describe('AI page: insights', () => {
  const stored = insight(5, {
    insight_type: 'root_cause',
    severity: 'critical',
    title: 'Root cause: API down',
    method: 'correlator',
    model: null,
    related_alert_id: 42,
    related_host_id: 3,
    details: { analysis: rootCause().analysis, evidence_items: rootCause().evidence_items, similar_incidents: [], error: null },
  });

  it('filters and pages the list on the server', async () => {
    signIn('viewer');
    const server = mockFetch(
      aiRoutes({
        'GET /api/v1/ai/insights': ({ url }) => {
          const pageNumber = Number(url.searchParams.get('page'));
          return json(200, page(pageNumber === 1 ? [stored, insight(6)] : [insight(7)], 23, pageNumber, 10));
        },
      }),
    );
    renderApp('/ai?tab=insights');
    const events = user();
    const lastQuery = () => Object.fromEntries(server.callsTo('GET', '/api/v1/ai/insights').at(-1)!.url.searchParams);

    expect(await screen.findByText('Root cause: API down')).toBeInTheDocument();
    expect(screen.getByText('23 in total')).toBeInTheDocument();
    expect(lastQuery()).toEqual({ page: '1', page_size: '10' });

    await events.click(screen.getByTitle('3'));
    await waitFor(() => expect(lastQuery()).toEqual({ page: '3', page_size: '10' }));
    expect(await screen.findByText('Insight 7')).toBeInTheDocument();

    // A filter starts again at the first page.
    await events.click(screen.getByRole('combobox', { name: 'Type' }));
    await events.click(await screen.findByTitle('root_cause'));
    await waitFor(() => expect(lastQuery()).toEqual({ page: '1', page_size: '10', insight_type: 'root_cause' }));
    await events.type(screen.getByLabelText('Alert ID'), '42');
    await waitFor(() => expect(lastQuery()).toEqual({ page: '1', page_size: '10', insight_type: 'root_cause', alert_id: '42' }));
  });

  it('opens a root-cause insight with its evidence and takes feedback there', async () => {
    signIn('viewer');
    const server = mockFetch(
      aiRoutes({
        'GET /api/v1/ai/insights': () => json(200, page([stored], 1, 1, 10)),
        'GET /api/v1/ai/insights/:id': () => json(200, stored),
        'POST /api/v1/ai/insights/:id/feedback': () =>
          json(200, { ...stored, feedback: { verdict: 'incorrect', comment: null, by: 1, at: new Date().toISOString() } }),
      }),
    );
    renderApp('/ai?tab=insights');
    const events = user();

    await events.click(await screen.findByTestId('insight-open-5'));
    expect(await screen.findByTestId('root-cause-text')).toHaveTextContent('postgres on db-01 ran out of disk first');
    expect(server.callsTo('GET', '/api/v1/ai/insights/5')).toHaveLength(1);
    const drawer = within(screen.getByTestId('root-cause-result'));
    expect(drawer.getByTestId('analysis-method')).toHaveTextContent('Correlator (no LLM)');
    expect(drawer.getByText('logs #12, #13 (×9)')).toBeInTheDocument();

    await events.click(drawer.getByRole('button', { name: /Incorrect/ }));
    await waitFor(() => expect(server.callsTo('POST', '/api/v1/ai/insights/5/feedback')[0]?.body).toEqual({ verdict: 'incorrect' }));
    expect(await screen.findByTestId('feedback-current')).toHaveTextContent('Incorrect');
  });
});

describe('AI page: incident memory', () => {
  it('searches the memory and shows the digest', async () => {
    signIn('viewer');
    const server = mockFetch(
      aiRoutes({
        'GET /api/v1/ai/memory': ({ url }) =>
          json(200, { query: url.searchParams.get('q'), items: rootCause().similar_incidents, digest: 'seen 3 times before; disk_cleanup fixed it twice' }),
      }),
    );
    renderApp('/ai?tab=memory');
    const events = user();

    await events.type(await screen.findByLabelText('Search incident memory'), 'disk full{Enter}');
    expect(await screen.findByTestId('memory-digest')).toHaveTextContent('seen 3 times before; disk_cleanup fixed it twice');
    expect(screen.getByText('db-01 disk full')).toBeInTheDocument();
    expect(Object.fromEntries(server.callsTo('GET', '/api/v1/ai/memory')[0]!.url.searchParams)).toEqual({ q: 'disk full', limit: '10' });
  });
});
