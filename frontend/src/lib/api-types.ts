/**
 * Wire types of the VigilOps REST API, mirroring `shared/protocol/rest-api.md`.
 *
 * This is the ONE place API shapes are written down. It is a hand-written stand-in: once the Rust
 * server publishes `/api/openapi.json`, this file will be generated from that document (for example
 * with `openapi-typescript`) and must not be edited by hand any more. Until then, keep every field
 * name, enum value and nullability exactly as the protocol document states them, and add a type here
 * only when a page starts using its endpoint.
 *
 * Times are RFC 3339 strings in UTC (both `Z` and `+00:00` occur).
 */

/** An RFC 3339 date-time string. */
export type DateTime = string;

// ---------------------------------------------------------------------------------------------------
// Conventions (§1)
// ---------------------------------------------------------------------------------------------------

/** One entry of a FastAPI-style 422 validation error. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** Every error body: a string, or a list of validation issues for 422. */
export interface ErrorBody {
  detail: string | ValidationIssue[];
}

/** `{items,total,page,page_size}` returned by paged list routes (§1.3). */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
}

/** Query parameters accepted by every paged route. */
export interface PageQuery {
  page?: number;
  page_size?: number;
}

export type HealthCheckState = 'ok' | 'error' | 'disabled';

/** `GET /api/v1/health` and `GET /health` (§1.4). */
export interface Health {
  status: 'ok' | 'degraded';
  checks: {
    api: HealthCheckState;
    database: HealthCheckState;
    redis: HealthCheckState;
  };
  timestamp: DateTime;
}

// ---------------------------------------------------------------------------------------------------
// Auth (§2) and users (§15)
// ---------------------------------------------------------------------------------------------------

export type Role = 'admin' | 'operator' | 'viewer';

export interface LoginRequest {
  email: string;
  password: string;
}

export interface RegisterRequest {
  email: string;
  name: string;
  password: string;
}

export interface RefreshRequest {
  refresh_token: string;
}

/** Returned by register (201), login and refresh. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
}

/** `GET /api/v1/auth/me`. */
export interface CurrentUser {
  id: number;
  email: string;
  name: string;
  role: Role;
  is_active: boolean;
  created_at: DateTime;
}

/** An item of `GET /api/v1/users`. */
export interface User extends CurrentUser {
  updated_at: DateTime;
}

// ---------------------------------------------------------------------------------------------------
// Agent tokens (§3)
// ---------------------------------------------------------------------------------------------------

export interface AgentToken {
  id: number;
  name: string;
  token_prefix: string;
  is_active: boolean;
  created_by: number;
  created_at: DateTime;
  last_used_at: DateTime | null;
}

/** `POST /api/v1/agent-tokens` (201): the only response that carries the plaintext `token`. */
export interface CreatedAgentToken extends AgentToken {
  token: string;
}

export interface CreateAgentTokenRequest {
  name: string;
}

// ---------------------------------------------------------------------------------------------------
// Hosts and metrics (§4, agent-protocol.md §3.3)
// ---------------------------------------------------------------------------------------------------

export type HostStatus = 'online' | 'offline';

/**
 * The "latest metrics" snapshot: the non-null metric fields of the newest sample plus `recorded_at`.
 * Every metric field may be absent.
 */
export interface LatestMetrics {
  cpu_percent?: number;
  cpu_load_1?: number;
  cpu_load_5?: number;
  cpu_load_15?: number;
  memory_used_mb?: number;
  memory_percent?: number;
  disk_used_mb?: number;
  disk_total_mb?: number;
  disk_percent?: number;
  net_bytes_sent?: number;
  net_bytes_recv?: number;
  net_send_rate_kb?: number;
  net_recv_rate_kb?: number;
  net_packet_loss_rate?: number;
  recorded_at?: DateTime;
}

export interface Host {
  id: number;
  hostname: string;
  ip_address: string | null;
  os: string | null;
  os_version: string | null;
  arch: string | null;
  cpu_cores: number | null;
  memory_total_mb: number | null;
  agent_version: string | null;
  status: HostStatus;
  tags: Record<string, unknown> | string[] | null;
  group_name: string | null;
  last_heartbeat: DateTime | null;
  created_at: DateTime;
  updated_at: DateTime;
  /** `null` after 600 s without data. */
  latest_metrics: LatestMetrics | null;
  /** Ours: optional extensions the original server lacked. */
  display_name?: string | null;
  private_ip?: string | null;
  public_ip?: string | null;
  network_info?: Record<string, unknown> | null;
}

export interface HostListQuery extends PageQuery {
  status?: HostStatus;
  group_name?: string;
  /** Case-insensitive substring of the hostname. */
  search?: string;
}

export type MetricInterval = 'raw' | '5min' | '1h' | '1d';

export interface HostMetricsQuery {
  /** 1–720. */
  hours: number;
  interval: MetricInterval;
}

/** One sample (or, for aggregated intervals, one bucket average with `id` = 0). */
export interface MetricPoint {
  id: number;
  host_id: number;
  cpu_percent: number | null;
  cpu_load_1: number | null;
  cpu_load_5: number | null;
  cpu_load_15: number | null;
  memory_used_mb: number | null;
  memory_percent: number | null;
  disk_used_mb: number | null;
  disk_total_mb: number | null;
  disk_percent: number | null;
  net_bytes_sent: number | null;
  net_bytes_recv: number | null;
  net_send_rate_kb: number | null;
  net_recv_rate_kb: number | null;
  net_packet_loss_rate: number | null;
  recorded_at: DateTime;
}

// ---------------------------------------------------------------------------------------------------
// AI analysis (`/api/v1/ai`, any logged-in role)
// ---------------------------------------------------------------------------------------------------

export type AiConfidence = 'high' | 'medium' | 'low';

/** Who wrote an analysis: the language model (checked against the evidence) or the deterministic correlator. */
export type AnalysisMethod = 'llm' | 'correlator';

export type FeedbackVerdict = 'correct' | 'incorrect';

/** The stored data an evidence item refers to, tagged by `type`. */
export type EvidenceReference =
  | { type: 'metric_series'; host_id: number; metric: string; from: DateTime; to: DateTime }
  | { type: 'logs'; log_ids: number[]; count: number; from: DateTime; to: DateTime }
  | { type: 'service_checks'; service_id: number; check_ids: number[] }
  | { type: 'alert'; alert_id: number }
  | { type: 'command'; request_id: string }
  | { type: 'memory'; memory_id: number };

/** One fact an analysis may cite, by its short id (`E1`, `E2`, …). */
export interface EvidenceItem {
  id: string;
  /** `host:web-01`, `service:postgres@db-01`. */
  component: string;
  reference: EvidenceReference;
  summary: string;
  /** When the signal started to deviate; `null` for context that does not move. */
  onset: DateTime | null;
  anomalous: boolean;
  /** 0 to 1. */
  strength: number;
}

export interface AiClaim {
  statement: string;
  /** Evidence ids. */
  evidence: string[];
}

export interface AiHypothesis {
  cause: string;
  confidence: AiConfidence;
  evidence: string[];
  /** `null` for the chosen cause. */
  rejected_because: string | null;
}

/** `analysis` of `POST /ai/root-cause`. */
export interface RootCauseAnalysis {
  root_cause: string;
  confidence: AiConfidence;
  /** One line per claim, `"<statement> [E1, E3]"` (the original's field). */
  evidence: string[];
  recommendations: string[];
  method: AnalysisMethod;
  label: string;
  insufficient_evidence: boolean;
  first_failing_component: string | null;
  claims: AiClaim[];
  hypotheses: AiHypothesis[];
  recommended_runbook: string | null;
  /** What was dropped from the model's reply, and why. */
  warnings: string[];
}

/** A remembered incident. */
export interface MemoryIncident {
  id: number;
  source?: string;
  title: string;
  content: string;
  alert_id: number | null;
  host_id?: number | null;
  runbook: string | null;
  outcome: string | null;
  verdict: FeedbackVerdict | null;
  created_at: DateTime;
  /** Comparable only within one answer. */
  score: number;
}

/** `POST /ai/root-cause?alert_id=N`. */
export interface RootCauseResponse {
  alert_id: number;
  analysis: RootCauseAnalysis;
  memory_context: string[];
  evidence_items: EvidenceItem[];
  similar_incidents: MemoryIncident[];
  insight_id: number;
  /** Why the model could not be used, when it failed and the correlator answered. */
  error: string | null;
}

export interface InsightFeedback {
  verdict: FeedbackVerdict;
  comment: string | null;
  by: number | null;
  at: DateTime;
}

export interface FeedbackRequest {
  verdict: FeedbackVerdict;
  comment?: string;
}

export interface Insight {
  id: number;
  /** `root_cause`, `log_analysis`, `chat`, … */
  insight_type: string;
  severity: string;
  title: string;
  summary: string | null;
  /** For `root_cause` insights: `{analysis, evidence_items, …}`. */
  details: Record<string, unknown> | null;
  related_host_id: number | null;
  related_alert_id: number | null;
  status: string;
  created_at: DateTime;
  method: AnalysisMethod;
  model: string | null;
  feedback: InsightFeedback | null;
}

export interface InsightListQuery extends PageQuery {
  severity?: string;
  status?: string;
  insight_type?: string;
  alert_id?: number;
}

export interface ChatSource {
  type: string;
  summary: string;
}

export interface ChatRequest {
  question: string;
}

/** `POST /ai/chat`. */
export interface ChatResponse {
  answer: string;
  sources: ChatSource[];
  memory_context: string[];
  insight_id: number | null;
  error: string | null;
}

export interface AnalyzeLogsRequest {
  hours: number;
  host_id?: number;
  level?: string;
}

export interface LogAnomaly {
  pattern: string;
  count: number;
  risk: string;
  suggestion: string;
  /** Ours: example log lines of the pattern. */
  log_ids?: number[];
}

export interface LogAnalysis {
  severity: string;
  title: string;
  summary: string;
  anomalies: LogAnomaly[];
  overall_assessment: string;
  method?: AnalysisMethod;
}

export interface LogPattern {
  level: string;
  template: string;
  count: number;
  first_seen: DateTime;
  last_seen: DateTime;
  host_ids: number[];
  services: string[];
  example_log_ids: number[];
  example: string;
}

/** `POST /ai/analyze-logs`. */
export interface AnalyzeLogsResponse {
  success: boolean;
  analysis: LogAnalysis | null;
  error: string | null;
  log_count: number;
  patterns: LogPattern[];
  insight_id: number | null;
}

/** `GET /ai/memory`. */
export interface MemorySearchResponse {
  query: string;
  items: MemoryIncident[];
  /** "seen 3 times before; disk_cleanup fixed it twice". */
  digest: string | null;
}

/** `GET /ai/system-summary`. */
export interface AiSystemSummary {
  hosts: { total: number; online: number; offline: number };
  services: { total: number; up: number; down: number };
  recent_1h: { alert_count: number; error_log_count: number };
  avg_usage: { cpu_percent: number; memory_percent: number };
}

// ---------------------------------------------------------------------------------------------------
// Remediation (§8; runbooks and settings are ours)
// ---------------------------------------------------------------------------------------------------

export type RemediationStatus =
  | 'pending'
  | 'diagnosing'
  | 'executing'
  | 'verifying'
  | 'pending_approval'
  | 'approved'
  | 'rejected'
  | 'success'
  | 'failed'
  | 'escalated';

export type RemediationRisk = 'auto' | 'confirm' | 'block';

export type RemediationTrigger = 'auto' | 'manual';

/** What the run concluded the problem was, and which runbook it suggested. */
export interface RemediationDiagnosis {
  root_cause: string;
  /** 0 to 1. */
  confidence: number;
  suggested_runbook: string | null;
  reasoning: string;
  source: 'llm' | 'rules';
}

export type CommandPhase = 'pre_check' | 'step' | 'verify' | 'rollback';

/** One command of a run, as its log keeps it. */
export interface CommandResult {
  phase: CommandPhase;
  step: string;
  command: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  /** False when the command was not sent to the host (a dry run). */
  executed: boolean;
  duration_ms: number | null;
  /** A failure of an optional step does not stop the run. */
  optional: boolean;
  /** The command's request id on the command channel. */
  request_id?: string;
}

/** The inputs of the safety decision. */
export interface RemediationChecks {
  recent_failures: number;
  runs_last_hour: number;
  auto_runs_last_hour: number;
  last_run_of_runbook: DateTime | null;
  opted_out: boolean;
  in_maintenance: boolean;
}

/** The safety decision: the risk it settled on and every reason. */
export interface RemediationDecision {
  risk: RemediationRisk;
  /** Why the run was stopped, when it was. */
  stopped: string | null;
  reasons: string[];
  /** `diagnosis`, `alert_type` or `keyword`. */
  matched_by: string;
  checks: RemediationChecks;
}

/** A remediation run. */
export interface Remediation {
  id: number;
  alert_id: number | null;
  host_id: number | null;
  status: RemediationStatus;
  risk_level: RemediationRisk | null;
  runbook_name: string | null;
  diagnosis_json: RemediationDiagnosis | null;
  command_results_json: CommandResult[] | null;
  verification_passed: boolean | null;
  blocked_reason: string | null;
  triggered_by: RemediationTrigger;
  approved_by: number | null;
  approved_at: DateTime | null;
  started_at: DateTime | null;
  completed_at: DateTime | null;
  created_at: DateTime;
  /** Ours: who triggered a manual run. */
  requested_by: number | null;
  /** Ours: the safety decision with every reason. */
  decision: RemediationDecision | null;
  /** Ours: false for a dry run (nothing ran on the host). */
  executed: boolean;
  /** Ours: the comment of the approval or rejection. */
  review_comment: string | null;
}

export interface RemediationListQuery extends PageQuery {
  status?: RemediationStatus;
  host_id?: number;
  triggered_by?: RemediationTrigger;
  alert_id?: number;
}

/** `GET /remediations/stats`. */
export interface RemediationStats {
  total: number;
  success: number;
  failed: number;
  pending: number;
  /** Percent, one decimal; 0 without runs. */
  success_rate: number;
  /** Null without finished runs. */
  avg_duration_seconds: number | null;
  today_count: number;
  week_count: number;
}

/** The optional body of approve and reject. */
export interface ReviewRequest {
  comment?: string;
}

/** A step of a runbook's spec: `run` is the argv. */
export interface RunbookStepSpec {
  name: string;
  run: string[];
  timeout_seconds?: number;
  optional?: boolean;
}

export interface Runbook {
  name: string;
  description: string;
  risk: RemediationRisk;
  source: 'builtin' | 'file' | 'api';
  /** The whole runbook: triggers, parameters, pre-checks, steps, verification, rollback, cooldown. */
  spec: { steps?: RunbookStepSpec[] } & Record<string, unknown>;
}

/** A runbook file refused at start, with every reason. */
export interface RefusedRunbookFile {
  file: string;
  reasons: string[];
}

/** `GET /runbooks`. */
export interface RunbookList {
  items: Runbook[];
  refused_files: RefusedRunbookFile[];
}

/** `GET /remediation-settings`: the safety switches of auto-remediation. */
export interface RemediationSettings {
  automatic_enabled: boolean;
  agent_enabled: boolean;
  dry_run: boolean;
  max_auto_per_hour: number;
  approval_minutes: number;
}

export interface RemediationSettingsUpdate {
  automatic_enabled: boolean;
}
