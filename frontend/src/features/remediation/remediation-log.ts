/**
 * The pure rules of the remediation pages: which statuses are final, what colour each one has,
 * how long a run took, and how a run's stored command results become the rows of its log.
 * Kept free of React so they are tested on their own.
 */
import type { CommandPhase, CommandResult, Remediation, RemediationStatus, Runbook } from '@/lib/api-types';

/** A run in one of these statuses will not change again (short of a retry, which is a new run). */
const TERMINAL: ReadonlySet<string> = new Set<RemediationStatus>(['rejected', 'success', 'failed', 'escalated']);

export function isTerminalStatus(status: string): boolean {
  return TERMINAL.has(status);
}

/** antd `Tag` colours: green done, red failed, orange waits on a human, blue working. */
const STATUS_COLOR: Record<RemediationStatus, string> = {
  pending: 'default',
  diagnosing: 'processing',
  executing: 'processing',
  verifying: 'processing',
  pending_approval: 'warning',
  approved: 'cyan',
  rejected: 'default',
  success: 'success',
  failed: 'error',
  escalated: 'volcano',
};

export function statusColor(status: string): string {
  return STATUS_COLOR[status as RemediationStatus] ?? 'default';
}

const RISK_COLOR: Record<string, string> = { auto: 'green', confirm: 'gold', block: 'red' };

export function riskColor(risk: string | null | undefined): string {
  return (risk && RISK_COLOR[risk]) || 'default';
}

/** Only a run waiting for approval can be approved or rejected. */
export function canReview(status: string): boolean {
  return status === 'pending_approval';
}

/** The server starts a new run only for a run that ended without fixing anything. */
export function canRetry(status: string): boolean {
  return status === 'failed' || status === 'escalated' || status === 'rejected';
}

/**
 * How long a run has taken: from its start (or creation, before it started) to its completion.
 * A run still in progress counts up to `now`; a terminal run without a completion time has none.
 */
export function runDurationSeconds(
  run: Pick<Remediation, 'status' | 'created_at' | 'started_at' | 'completed_at'>,
  now: number = Date.now(),
): number | null {
  const start = Date.parse(run.started_at ?? run.created_at);
  if (Number.isNaN(start)) return null;
  let end: number;
  if (run.completed_at) end = Date.parse(run.completed_at);
  else if (isTerminalStatus(run.status)) return null;
  else end = now;
  if (Number.isNaN(end)) return null;
  return Math.max(0, (end - start) / 1000);
}

/** 0.35 → "0.4 s", 42 → "42 s", 125 → "2 m 5 s", 3720 → "1 h 2 m"; nothing → "-". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toString()} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) {
    const rest = whole % 60;
    return rest ? `${Math.floor(whole / 60)} m ${rest} s` : `${whole / 60} m`;
  }
  const minutes = Math.floor((whole % 3600) / 60);
  return minutes ? `${Math.floor(whole / 3600)} h ${minutes} m` : `${Math.floor(whole / 3600)} h`;
}

/** A command's duration: "850 ms" under a second, else as `formatDuration`. */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return formatDuration(ms / 1000);
}

/**
 * What a command's row says about it:
 * - `ok`: ran and exited 0;
 * - `failed`: ran and exited non-zero, which stops the run;
 * - `failed_optional`: an optional step failed, which the run tolerates;
 * - `not_executed`: never sent to the host (a dry run, or stopped before).
 */
export type CommandOutcome = 'ok' | 'failed' | 'failed_optional' | 'not_executed';

export interface CommandLogRow {
  /** 1-based position in the run. */
  index: number;
  phase: CommandPhase | string;
  step: string;
  command: string;
  exitCode: number | null;
  outcome: CommandOutcome;
  optional: boolean;
  executed: boolean;
  durationMs: number | null;
  stdout: string;
  stderr: string;
  requestId: string | null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The run's commands in the order they ran, ready to show. The stored JSON is read defensively:
 * anything that is not an array gives no rows, and missing fields get neutral values, so an older
 * or partial record still renders.
 */
export function commandLogRows(results: unknown): CommandLogRow[] {
  if (!Array.isArray(results)) return [];
  return results
    .filter((entry): entry is Partial<CommandResult> => typeof entry === 'object' && entry !== null)
    .map((entry, position) => {
      const executed = entry.executed !== false;
      const optional = entry.optional === true;
      const exitCode = finiteOrNull(entry.exit_code);
      const outcome: CommandOutcome = !executed
        ? 'not_executed'
        : exitCode === 0
          ? 'ok'
          : optional
            ? 'failed_optional'
            : 'failed';
      return {
        index: position + 1,
        phase: text(entry.phase) || 'step',
        step: text(entry.step),
        command: text(entry.command),
        exitCode,
        outcome,
        optional,
        executed,
        durationMs: finiteOrNull(entry.duration_ms),
        stdout: text(entry.stdout),
        stderr: text(entry.stderr),
        requestId: entry.request_id ? text(entry.request_id) : null,
      };
    });
}

/** How many commands ran, and how many failed (optional failures counted apart). */
export function summariseCommands(rows: CommandLogRow[]): { total: number; ok: number; failed: number; failedOptional: number; notExecuted: number } {
  return {
    total: rows.length,
    ok: rows.filter((row) => row.outcome === 'ok').length,
    failed: rows.filter((row) => row.outcome === 'failed').length,
    failedOptional: rows.filter((row) => row.outcome === 'failed_optional').length,
    notExecuted: rows.filter((row) => row.outcome === 'not_executed').length,
  };
}

/** A runbook's steps as command lines: each step's argv joined with spaces. */
export function runbookStepCommands(runbook: Pick<Runbook, 'spec'>): { name: string; command: string }[] {
  const steps = runbook.spec.steps;
  if (!Array.isArray(steps)) return [];
  return steps.map((step) => ({
    name: text(step.name),
    command: Array.isArray(step.run) ? step.run.map(text).join(' ') : text(step.run),
  }));
}

/** A 0..1 confidence as a whole percentage, clamped; "-" when there is none. */
export function formatConfidence(confidence: unknown): string {
  if (typeof confidence !== 'number' || !Number.isFinite(confidence)) return '-';
  return `${Math.round(Math.min(1, Math.max(0, confidence)) * 100)}%`;
}
