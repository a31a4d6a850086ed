//! Stored forms of the AI engine: insights (analyses and their feedback), the ops memory of past
//! incidents, the record of every LLM call, and the read-only windows the evidence gatherer asks
//! for (logs, service checks and alerts within a time range, the system summary).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Page;

/// How an analysis was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisMethod {
    /// A language model wrote it, from the evidence it was given.
    Llm,
    /// The deterministic evidence correlator wrote it; no model was involved.
    Correlator,
}

impl AnalysisMethod {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::Correlator => "correlator",
        }
    }

    /// The method named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "llm" => Some(Self::Llm),
            "correlator" => Some(Self::Correlator),
            _ => None,
        }
    }
}

/// A person's verdict on an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The analysis was right.
    Correct,
    /// The analysis was wrong.
    Incorrect,
}

impl Verdict {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::Incorrect => "incorrect",
        }
    }

    /// The verdict named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "correct" => Some(Self::Correct),
            "incorrect" => Some(Self::Incorrect),
            _ => None,
        }
    }
}

/// Feedback on an insight: kept, and replaced when the insight is judged again.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightFeedback {
    pub verdict: Verdict,
    pub comment: Option<String>,
    pub by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// An insight to store. `insight_type` is the original's (`anomaly`, `chat`, `root_cause`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewInsight {
    pub insight_type: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    pub title: String,
    pub summary: Option<String>,
    /// The full structured result (evidence, hypotheses, …) as JSON.
    pub details: Option<Value>,
    pub related_host_id: Option<i64>,
    pub related_alert_id: Option<i64>,
    pub method: AnalysisMethod,
    /// The model that answered; `None` for the correlator.
    pub model: Option<String>,
}

/// A stored insight. New insights have status `new`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    pub id: i64,
    pub insight_type: String,
    pub severity: String,
    pub title: String,
    pub summary: Option<String>,
    pub details: Option<Value>,
    pub related_host_id: Option<i64>,
    pub related_alert_id: Option<i64>,
    pub status: String,
    pub method: AnalysisMethod,
    pub model: Option<String>,
    pub feedback: Option<InsightFeedback>,
    pub created_at: DateTime<Utc>,
}

/// Which insights to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct InsightFilter {
    pub severity: Option<String>,
    pub status: Option<String>,
    pub insight_type: Option<String>,
    pub related_alert_id: Option<i64>,
    pub page: Page,
}

/// One call to a language model, as recorded for cost and audit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLlmCall {
    /// What the call was for: `root_cause`, `chat`, `log_analysis`, …
    pub purpose: String,
    pub model: String,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub latency_ms: i64,
    /// How many HTTP attempts the call took (retries included).
    pub attempts: i64,
    /// `None` when it succeeded, else the error text.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// A stored LLM call.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCall {
    pub id: i64,
    pub call: NewLlmCall,
}

/// An incident to remember: what happened, what was concluded and done, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    /// The original's source names: `vigilops-root-cause`, `vigilops-remediation`, …; ours adds
    /// `vigilops-incident` for a resolved alert.
    pub source: String,
    pub title: String,
    pub content: String,
    /// The space-separated search terms of title and content (see `ai::memory::search_terms`);
    /// this, not `content`, is what the full-text index covers, so both backends match alike.
    pub search_text: String,
    pub alert_id: Option<i64>,
    pub rule_id: Option<i64>,
    pub host_id: Option<i64>,
    pub runbook: Option<String>,
    /// `resolved`, `success`, `failed`, …
    pub outcome: Option<String>,
    pub verdict: Option<Verdict>,
    pub at: DateTime<Utc>,
}

/// A remembered incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub id: i64,
    pub memory: NewMemory,
}

/// A recalled memory and how well it matched (higher is better; only comparable within one
/// recall).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryHit {
    pub memory: Memory,
    pub score: f64,
}

/// Log lines within a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct LogWindow {
    pub host_id: Option<i64>,
    pub service: Option<String>,
    /// Levels to keep, compared case-insensitively; empty keeps every level.
    pub levels: Vec<String>,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Inclusive.
    pub to: DateTime<Utc>,
    pub limit: i64,
}

/// A stored service check, as evidence reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheckPoint {
    pub id: i64,
    pub service_id: i64,
    pub status: String,
    pub response_time_ms: Option<f64>,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// A service as the ops chat and the topology read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceOverview {
    pub id: i64,
    pub host_id: i64,
    pub name: String,
    pub check_type: String,
    pub target: String,
    /// `up`, `down` or `unknown`.
    pub status: String,
    pub is_active: bool,
}

/// The numbers of `GET /ai/system-summary`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemSummary {
    pub hosts_total: i64,
    pub hosts_online: i64,
    pub hosts_offline: i64,
    pub services_total: i64,
    pub services_up: i64,
    pub services_down: i64,
    /// Alerts fired since the cut-off.
    pub recent_alerts: i64,
    /// ERROR, CRITICAL and FATAL log lines since the cut-off.
    pub recent_error_logs: i64,
    /// Over each host's latest sample; `None` when no host has one.
    pub avg_cpu_percent: Option<f64>,
    pub avg_memory_percent: Option<f64>,
}
