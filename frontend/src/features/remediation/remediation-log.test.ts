import { describe, expect, it } from 'vitest';
import type { RemediationStatus } from '@/lib/api-types';
import { remediationPollInterval } from './api/get-remediation';
import {
  canRetry,
  canReview,
  commandLogRows,
  formatConfidence,
  formatDuration,
  formatDurationMs,
  isTerminalStatus,
  runbookStepCommands,
  runDurationSeconds,
  statusColor,
  summariseCommands,
} from './remediation-log';
import { REMEDIATION_STATUSES } from './types';

describe('statuses', () => {
  it('treats exactly rejected, success, failed and escalated as terminal', () => {
    const terminal = REMEDIATION_STATUSES.filter(isTerminalStatus);
    expect(terminal.sort()).toEqual(['escalated', 'failed', 'rejected', 'success']);
    expect(isTerminalStatus('something-new')).toBe(false);
  });

  it('colours each status, and falls back for an unknown one', () => {
    const check = (status: RemediationStatus, colour: string) => expect(statusColor(status)).toBe(colour);
    check('success', 'success');
    check('failed', 'error');
    check('pending_approval', 'warning');
    check('executing', 'processing');
    check('escalated', 'volcano');
    expect(statusColor('unheard_of')).toBe('default');
    for (const status of REMEDIATION_STATUSES) expect(statusColor(status)).toBeTruthy();
  });

  it('offers review only while waiting for approval, and retry only after a run ended unfixed', () => {
    expect(REMEDIATION_STATUSES.filter(canReview)).toEqual(['pending_approval']);
    expect(REMEDIATION_STATUSES.filter(canRetry).sort()).toEqual(['escalated', 'failed', 'rejected']);
  });

  it('polls a run every 2 s until it is terminal', () => {
    const run = (status: RemediationStatus) => ({ status }) as Parameters<typeof remediationPollInterval>[0];
    expect(remediationPollInterval(run('executing'))).toBe(2000);
    expect(remediationPollInterval(run('pending_approval'))).toBe(2000);
    expect(remediationPollInterval(run('success'))).toBe(false);
    expect(remediationPollInterval(undefined)).toBe(false);
  });
});

describe('durations', () => {
  const check = (seconds: number | null | undefined, expected: string) => expect(formatDuration(seconds)).toBe(expected);

  it('formats seconds at a useful precision', () => {
    check(0, '0 s');
    check(0.35, '0.4 s');
    check(9.94, '9.9 s');
    check(42.4, '42 s');
    check(60, '1 m');
    check(125, '2 m 5 s');
    check(3600, '1 h');
    check(3720, '1 h 2 m');
  });

  it('shows a dash for nothing or nonsense', () => {
    check(null, '-');
    check(undefined, '-');
    check(Number.NaN, '-');
    check(-1, '-');
  });

  it('formats command durations in milliseconds below a second', () => {
    expect(formatDurationMs(850)).toBe('850 ms');
    expect(formatDurationMs(1500)).toBe('1.5 s');
    expect(formatDurationMs(null)).toBe('-');
  });

  it('measures a run from its start (or creation) to its completion, or to now while it runs', () => {
    const base = { created_at: '2026-11-27T02:00:00Z', started_at: '2026-11-27T02:00:10Z', completed_at: '2026-11-27T02:01:40Z' };
    expect(runDurationSeconds({ ...base, status: 'success' })).toBe(90);
    expect(runDurationSeconds({ ...base, started_at: null, status: 'success' })).toBe(100);
    const now = Date.parse('2026-11-27T02:00:40Z');
    expect(runDurationSeconds({ ...base, completed_at: null, status: 'executing' }, now)).toBe(30);
    expect(runDurationSeconds({ ...base, completed_at: null, status: 'rejected' }, now)).toBeNull();
  });
});

describe('commandLogRows', () => {
  const result = (overrides: Record<string, unknown>) => ({
    phase: 'step',
    step: 'vacuum journal',
    command: 'journalctl --vacuum-size=200M',
    exit_code: 0,
    stdout: 'Vacuuming done, freed 1.2G',
    stderr: '',
    executed: true,
    duration_ms: 420,
    optional: false,
    ...overrides,
  });

  it('keeps the order the commands ran in, numbered from 1', () => {
    const rows = commandLogRows([result({ phase: 'pre_check', step: 'df' }), result({}), result({ phase: 'verify', step: 'df after' })]);
    expect(rows.map((row) => [row.index, row.phase, row.step])).toEqual([
      [1, 'pre_check', 'df'],
      [2, 'step', 'vacuum journal'],
      [3, 'verify', 'df after'],
    ]);
  });

  it('tells success, failure, tolerated optional failure and a dry run apart', () => {
    const rows = commandLogRows([
      result({}),
      result({ exit_code: 1, stderr: 'permission denied' }),
      result({ exit_code: 2, optional: true }),
      result({ executed: false, exit_code: 0, duration_ms: null }),
    ]);
    expect(rows.map((row) => row.outcome)).toEqual(['ok', 'failed', 'failed_optional', 'not_executed']);
    expect(rows[1]?.exitCode).toBe(1);
    expect(rows[1]?.stderr).toBe('permission denied');
    expect(rows[3]?.durationMs).toBeNull();
    expect(summariseCommands(rows)).toEqual({ total: 4, ok: 1, failed: 1, failedOptional: 1, notExecuted: 1 });
  });

  it('keeps the request id when the command went through the command channel', () => {
    expect(commandLogRows([result({ request_id: 'abc-123' })])[0]?.requestId).toBe('abc-123');
    expect(commandLogRows([result({})])[0]?.requestId).toBeNull();
  });

  it('reads partial or foreign JSON without throwing', () => {
    expect(commandLogRows(null)).toEqual([]);
    expect(commandLogRows({ not: 'an array' })).toEqual([]);
    const [row] = commandLogRows([{ command: 'uptime' }, 'junk', null]);
    expect(row).toMatchObject({ index: 1, phase: 'step', step: '', command: 'uptime', exitCode: null, outcome: 'failed', stdout: '', executed: true });
  });
});

describe('runbookStepCommands', () => {
  it('joins each step argv with spaces', () => {
    const spec = {
      steps: [
        { name: 'vacuum journal', run: ['journalctl', '--vacuum-size=200M'] },
        { name: 'clean apt', run: ['apt-get', 'clean'] },
      ],
    };
    expect(runbookStepCommands({ spec })).toEqual([
      { name: 'vacuum journal', command: 'journalctl --vacuum-size=200M' },
      { name: 'clean apt', command: 'apt-get clean' },
    ]);
  });

  it('gives nothing for a runbook without steps', () => {
    expect(runbookStepCommands({ spec: {} })).toEqual([]);
  });
});

describe('formatConfidence', () => {
  it('shows 0..1 as a clamped whole percentage', () => {
    expect(formatConfidence(0.834)).toBe('83%');
    expect(formatConfidence(1.2)).toBe('100%');
    expect(formatConfidence(null)).toBe('-');
  });
});
