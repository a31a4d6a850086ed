//! The REST shapes of `/api/v1/ai`: the original's fields first (its web client reads them),
//! ours after them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::LogPattern;
use super::correlate::{Claim, Hypothesis};
use super::evidence::EvidenceItem;
use super::rca::RootCause;
use crate::model::{Insight, MemoryHit, SystemSummary};

/// `analysis` of `POST /ai/root-cause`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCauseView {
    /// The cause, or the statement that there is not enough evidence.
    pub root_cause: String,
    /// `high`, `medium` or `low`, as in the original.
    pub confidence: &'static str,
    /// One line per supporting claim, `"<statement> [E1, E3]"`.
    pub evidence: Vec<String>,
    pub recommendations: Vec<String>,
    /// `llm` or `correlator`.
    pub method: &'static str,
    /// Says plainly who wrote the analysis.
    pub label: &'static str,
    pub insufficient_evidence: bool,
    pub first_failing_component: Option<String>,
    /// The claims with the evidence ids they cite.
    pub claims: Vec<Claim>,
    pub hypotheses: Vec<Hypothesis>,
    pub recommended_runbook: Option<String>,
    /// What was dropped from a model's reply, and why.
    pub warnings: Vec<String>,
}

impl From<&RootCause> for RootCauseView {
    fn from(analysis: &RootCause) -> Self {
        Self {
            root_cause: analysis.headline(),
            confidence: analysis.confidence.as_str(),
            evidence: analysis
                .evidence
                .iter()
                .map(|claim| format!("{} [{}]", claim.statement, claim.evidence.join(", ")))
                .collect(),
            recommendations: analysis.recommendations.clone(),
            method: analysis.method.as_str(),
            label: match analysis.method {
                crate::model::AnalysisMethod::Llm => {
                    "AI analysis (LLM), checked against the evidence"
                }
                crate::model::AnalysisMethod::Correlator => {
                    "Deterministic evidence correlation (no LLM)"
                }
            },
            insufficient_evidence: analysis.insufficient_evidence(),
            first_failing_component: analysis.first_failing_component.clone(),
            claims: analysis.evidence.clone(),
            hypotheses: analysis.hypotheses.clone(),
            recommended_runbook: analysis.recommended_runbook.clone(),
            warnings: analysis.warnings.clone(),
        }
    }
}

/// `POST /ai/root-cause?alert_id=N`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCauseResponse {
    pub alert_id: i64,
    pub analysis: RootCauseView,
    /// The texts of the similar past incidents given to the analysis.
    pub memory_context: Vec<String>,
    /// Every evidence item the analysis could cite, with the stored data it refers to.
    pub evidence_items: Vec<EvidenceItem>,
    pub similar_incidents: Vec<MemoryView>,
    /// The stored insight (feedback goes there).
    pub insight_id: i64,
    /// Why the model could not be used, when it was configured but failed.
    pub error: Option<String>,
}

/// A remembered incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryView {
    pub id: i64,
    pub source: String,
    pub title: String,
    pub content: String,
    pub alert_id: Option<i64>,
    pub host_id: Option<i64>,
    pub runbook: Option<String>,
    pub outcome: Option<String>,
    pub verdict: Option<&'static str>,
    pub created_at: DateTime<Utc>,
    /// How well it matched the query (only comparable within one answer).
    pub score: f64,
}

impl From<&MemoryHit> for MemoryView {
    fn from(hit: &MemoryHit) -> Self {
        let memory = &hit.memory.memory;
        Self {
            id: hit.memory.id,
            source: memory.source.clone(),
            title: memory.title.clone(),
            content: memory.content.clone(),
            alert_id: memory.alert_id,
            host_id: memory.host_id,
            runbook: memory.runbook.clone(),
            outcome: memory.outcome.clone(),
            verdict: memory.verdict.map(|v| v.as_str()),
            created_at: memory.at,
            score: hit.score,
        }
    }
}

/// `GET /ai/memory`: the similar incidents and what they add up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemorySearchResponse {
    pub query: String,
    pub items: Vec<MemoryView>,
    /// "seen 3 times before; disk_cleanup fixed it twice", when there is anything to say.
    pub digest: Option<String>,
}

/// `POST /ai/analyze-logs` body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnalyzeLogsRequest {
    #[serde(default = "one_hour")]
    pub hours: f64,
    pub host_id: Option<i64>,
    pub level: Option<String>,
}

fn one_hour() -> f64 {
    1.0
}

/// One log pattern as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternView {
    pub level: String,
    pub template: String,
    pub count: usize,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub host_ids: Vec<i64>,
    pub services: Vec<String>,
    pub example_log_ids: Vec<i64>,
    pub example: String,
}

impl From<&LogPattern> for PatternView {
    fn from(pattern: &LogPattern) -> Self {
        Self {
            level: pattern.level.clone(),
            template: pattern.template.clone(),
            count: pattern.count,
            first_seen: pattern.first_seen,
            last_seen: pattern.last_seen,
            host_ids: pattern.host_ids.iter().copied().collect(),
            services: pattern.services.iter().cloned().collect(),
            example_log_ids: pattern.example_ids.clone(),
            example: pattern.example.clone(),
        }
    }
}

/// `POST /ai/analyze-logs` reply: the original's `{success, analysis, error, log_count}`, plus
/// the deterministic patterns (always there, with or without a model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzeLogsResponse {
    pub success: bool,
    pub analysis: Option<Value>,
    pub error: Option<String>,
    pub log_count: i64,
    pub patterns: Vec<PatternView>,
    pub insight_id: Option<i64>,
}

/// `POST /ai/chat` body.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatRequestBody {
    pub question: String,
}

/// A piece of context an answer drew on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    #[serde(rename = "type")]
    pub kind: String,
    pub summary: String,
}

/// `POST /ai/chat` reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatResponse {
    pub answer: String,
    pub sources: Vec<Source>,
    pub memory_context: Vec<String>,
    pub insight_id: Option<i64>,
    /// Why there is no model answer (not configured, provider failure).
    pub error: Option<String>,
}

/// `POST /ai/insights/{id}/feedback` body.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedbackRequest {
    /// `correct` or `incorrect`.
    pub verdict: String,
    pub comment: Option<String>,
}

/// Feedback as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackView {
    pub verdict: &'static str,
    pub comment: Option<String>,
    pub by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// An insight: the original's fields, then ours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InsightView {
    pub id: i64,
    pub insight_type: String,
    pub severity: String,
    pub title: String,
    pub summary: Option<String>,
    pub details: Option<Value>,
    pub related_host_id: Option<i64>,
    pub related_alert_id: Option<i64>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub method: &'static str,
    pub model: Option<String>,
    pub feedback: Option<FeedbackView>,
}

impl From<Insight> for InsightView {
    fn from(insight: Insight) -> Self {
        Self {
            id: insight.id,
            insight_type: insight.insight_type,
            severity: insight.severity,
            title: insight.title,
            summary: insight.summary,
            details: insight.details,
            related_host_id: insight.related_host_id,
            related_alert_id: insight.related_alert_id,
            status: insight.status,
            created_at: insight.created_at,
            method: insight.method.as_str(),
            model: insight.model,
            feedback: insight.feedback.map(|f| FeedbackView {
                verdict: f.verdict.as_str(),
                comment: f.comment,
                by: f.by,
                at: f.at,
            }),
        }
    }
}

/// `GET /ai/system-summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemSummaryView {
    pub hosts: Value,
    pub services: Value,
    pub recent_1h: Value,
    pub avg_usage: Value,
}

impl From<SystemSummary> for SystemSummaryView {
    fn from(summary: SystemSummary) -> Self {
        let round = |v: Option<f64>| v.map_or(0.0, |v| (v * 10.0).round() / 10.0);
        Self {
            hosts: serde_json::json!({
                "total": summary.hosts_total,
                "online": summary.hosts_online,
                "offline": summary.hosts_offline,
            }),
            services: serde_json::json!({
                "total": summary.services_total,
                "up": summary.services_up,
                "down": summary.services_down,
            }),
            recent_1h: serde_json::json!({
                "alert_count": summary.recent_alerts,
                "error_log_count": summary.recent_error_logs,
            }),
            avg_usage: serde_json::json!({
                "cpu_percent": round(summary.avg_cpu_percent),
                "memory_percent": round(summary.avg_memory_percent),
            }),
        }
    }
}
