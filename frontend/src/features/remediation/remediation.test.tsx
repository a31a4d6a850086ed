import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { PointerEventsCheckLevel } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Remediation, RemediationSettings, RemediationStats, RunbookList } from '@/lib/api-types';
import { json, mockFetch, type MockHandler } from '@/testing/fetch-mock';
import { consoleRoutes, page, signIn } from '@/testing/fixtures';
import { renderApp } from '@/testing/render';

function run(id: number, overrides: Partial<Remediation> = {}): Remediation {
  return {
    id,
    alert_id: 7,
    host_id: 4,
    status: 'pending_approval',
    risk_level: 'confirm',
    runbook_name: 'disk_cleanup',
    diagnosis_json: {
      root_cause: 'the journal filled /var',
      confidence: 0.82,
      suggested_runbook: 'disk_cleanup',
      reasoning: 'disk_percent rose to 97 while journald grew',
      source: 'rules',
    },
    command_results_json: [
      { phase: 'pre_check', step: 'disk usage', command: 'df -h /var', exit_code: 0, stdout: '/dev/sda1 97% /var', stderr: '', executed: true, duration_ms: 40, optional: false },
    ],
    verification_passed: null,
    blocked_reason: null,
    triggered_by: 'auto',
    approved_by: null,
    approved_at: null,
    started_at: null,
    completed_at: null,
    created_at: '2026-11-27T02:00:00Z',
    requested_by: null,
    decision: {
      risk: 'confirm',
      stopped: null,
      reasons: ['runbook disk_cleanup needs confirmation', 'diagnosis confidence 0.82 >= 0.7'],
      matched_by: 'diagnosis',
      checks: { recent_failures: 0, runs_last_hour: 1, auto_runs_last_hour: 0, last_run_of_runbook: null, opted_out: false, in_maintenance: false },
    },
    executed: true,
    review_comment: null,
    ...overrides,
  };
}

const stats: RemediationStats = {
  total: 12,
  success: 9,
  failed: 2,
  pending: 1,
  success_rate: 75,
  avg_duration_seconds: 42.5,
  today_count: 3,
  week_count: 8,
};

const settings: RemediationSettings = { automatic_enabled: true, agent_enabled: true, dry_run: true, max_auto_per_hour: 10, approval_minutes: 30 };

const runbooks: RunbookList = {
  items: [
    {
      name: 'disk_cleanup',
      description: 'Frees disk space',
      risk: 'confirm',
      source: 'builtin',
      spec: { steps: [{ name: 'vacuum journal', run: ['journalctl', '--vacuum-size=200M'] }] },
    },
  ],
  refused_files: [{ file: 'wipe.yaml', reasons: ['step "wipe": rm -rf / is refused'] }],
};

function routes(extra: Record<string, MockHandler> = {}): Record<string, MockHandler> {
  return {
    ...consoleRoutes('operator'),
    'GET /api/v1/remediations': () => json(200, page([run(3), run(2, { status: 'failed', triggered_by: 'manual', requested_by: 5 })])),
    'GET /api/v1/remediations/stats': () => json(200, stats),
    'GET /api/v1/remediation-settings': () => json(200, settings),
    'GET /api/v1/runbooks': () => json(200, runbooks),
    ...extra,
  };
}

const user = () => userEvent.setup({ pointerEventsCheck: PointerEventsCheckLevel.Never });

describe('remediations page', () => {
  it('shows the safety switches, the numbers and the runs, and filters by status in the URL', async () => {
    signIn('operator');
    const server = mockFetch(routes());
    const { currentPath } = renderApp('/remediations');

    expect(await screen.findByTestId('remediation-link-3')).toBeInTheDocument();
    const switches = screen.getByTestId('safety-switches');
    expect(within(switches).getByTestId('switch-dry-run')).toHaveAttribute('data-on', 'true');
    expect(within(switches).getByText('On (nothing is executed)')).toBeInTheDocument();
    const statCards = screen.getByTestId('remediation-stats');
    expect(within(statCards).getByText('75.0%')).toBeInTheDocument();
    expect(within(statCards).getByText('43 s')).toBeInTheDocument();
    expect(screen.getByText('Manual · user #5')).toBeInTheDocument();
    expect(screen.getAllByTestId('remediation-status').map((tag) => tag.getAttribute('data-status'))).toEqual(['pending_approval', 'failed']);

    await user().click(within(screen.getByTestId('filter-status')).getByRole('combobox'));
    await user().click(await screen.findByTitle('Failed'));
    await waitFor(() => expect(currentPath()).toBe('/remediations?status=failed'));
    await waitFor(() => expect(server.calls.some((call) => call.path === '/api/v1/remediations' && call.url.searchParams.get('status') === 'failed')).toBe(true));
  });

  it('lists runbooks with their steps and the refused files', async () => {
    signIn('viewer');
    mockFetch(routes());
    renderApp('/remediations?tab=runbooks');
    const panel = await screen.findByTestId('runbooks-panel');
    expect(await within(panel).findByText('journalctl --vacuum-size=200M')).toBeInTheDocument();
    expect(within(panel).getByTestId('refused-files')).toHaveTextContent('rm -rf / is refused');
  });

  it('shows the server refusal when a non-admin flips the kill switch', async () => {
    signIn('operator');
    const server = mockFetch(routes({ 'PUT /api/v1/remediation-settings': () => json(403, { detail: 'Admin role required' }) }));
    renderApp('/remediations');
    await user().click(await screen.findByTestId('automatic-switch'));
    await user().click(await screen.findByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Admin role required')).toBeInTheDocument();
    expect(server.callsTo('PUT', '/api/v1/remediation-settings')[0]?.body).toEqual({ automatic_enabled: false });
  });
});

describe('remediation detail', () => {
  it('reads as the log: diagnosis, decision, commands with exit codes', async () => {
    signIn('viewer');
    mockFetch(
      routes({
        'GET /api/v1/remediations/:id': () =>
          json(
            200,
            run(9, {
              status: 'failed',
              executed: false,
              blocked_reason: 'verification failed',
              command_results_json: [
                { phase: 'step', step: 'vacuum', command: 'journalctl --vacuum-size=200M', exit_code: 0, stdout: 'freed 1G', stderr: '', executed: true, duration_ms: 1500, optional: false },
                { phase: 'step', step: 'apt clean', command: 'apt-get clean', exit_code: 100, stdout: '', stderr: 'E: lock held', executed: true, duration_ms: 90, optional: true },
              ],
            }),
          ),
      }),
    );
    renderApp('/remediations/9');
    const detail = await screen.findByTestId('remediation-detail');
    expect(within(detail).getByTestId('outcome')).toHaveTextContent('Reason: verification failed');
    expect(within(detail).getByTestId('diagnosis-confidence')).toHaveTextContent('82%');
    expect(within(detail).getByTestId('decision-reasons')).toHaveTextContent('diagnosis confidence 0.82 >= 0.7');
    expect(within(detail).getAllByTestId('dry-run-tag').length).toBeGreaterThan(0);
    const codes = within(detail).getAllByTestId('command-exit-code');
    expect(codes.map((code) => code.getAttribute('data-exit-code'))).toEqual(['0', '100']);
    expect(within(detail).getByTestId('command-optional')).toBeInTheDocument();
    // The failed command's output is open; the successful one's is collapsed.
    expect(within(detail).getByTestId('command-stderr')).toHaveTextContent('E: lock held');
    expect(screen.getByTestId('retry-button')).toBeInTheDocument();
    expect(screen.queryByTestId('approve-button')).not.toBeInTheDocument();
  });

  it('approves with a comment and shows the updated run', async () => {
    signIn('operator');
    let current = run(3);
    const server = mockFetch(
      routes({
        'GET /api/v1/remediations/:id': () => json(200, current),
        'POST /api/v1/remediations/:id/approve': () => {
          current = run(3, { status: 'executing', approved_by: 1, approved_at: '2026-11-27T02:05:00Z', review_comment: 'go ahead' });
          return json(200, current);
        },
      }),
    );
    renderApp('/remediations/3');
    await user().click(await screen.findByTestId('approve-button'));
    await user().type(await screen.findByTestId('review-comment'), '  go ahead ');
    await user().click(screen.getByTestId('review-submit'));
    await waitFor(() => expect(screen.getByTestId('remediation-detail')).toHaveAttribute('data-status', 'executing'));
    expect(server.callsTo('POST', '/api/v1/remediations/3/approve')[0]?.body).toEqual({ comment: 'go ahead' });
    expect(screen.queryByTestId('approve-button')).not.toBeInTheDocument();
  });

  it('keeps the dialog open with the server detail when the approval is refused', async () => {
    signIn('operator');
    mockFetch(
      routes({
        'GET /api/v1/remediations/:id': () => json(200, run(3)),
        'POST /api/v1/remediations/:id/reject': () => json(400, { detail: 'Cannot approve remediation in status: rejected' }),
      }),
    );
    renderApp('/remediations/3');
    await user().click(await screen.findByTestId('reject-button'));
    await user().click(await screen.findByTestId('review-submit'));
    expect(await screen.findByTestId('review-error')).toHaveTextContent('Cannot approve remediation in status: rejected');
  });

  it('retries a failed run and opens the new one', async () => {
    signIn('operator');
    const server = mockFetch(
      routes({
        'GET /api/v1/remediations/:id': ({ params }) => json(200, params.id === '2' ? run(2, { status: 'failed' }) : run(10, { status: 'pending', triggered_by: 'manual' })),
        'POST /api/v1/remediations/:id/retry': () => json(200, run(10, { status: 'pending', triggered_by: 'manual' })),
      }),
    );
    const { currentPath } = renderApp('/remediations/2');
    await user().click(await screen.findByTestId('retry-button'));
    await waitFor(() => expect(currentPath()).toBe('/remediations/10'));
    expect(server.callsTo('POST', '/api/v1/remediations/2/retry')).toHaveLength(1);
  });

  it('shows a not-found page for an unknown run', async () => {
    signIn('viewer');
    mockFetch(routes({ 'GET /api/v1/remediations/:id': () => json(404, { detail: 'Remediation log not found' }) }));
    renderApp('/remediations/404');
    expect(await screen.findByText('Remediation run not found')).toBeInTheDocument();
    expect(screen.getByText('Remediation log not found')).toBeInTheDocument();
  });
});
