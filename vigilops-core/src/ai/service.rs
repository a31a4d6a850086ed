//! What the REST API calls for AI: root cause, log analysis, ops chat (whole or streamed),
//! insights and their feedback, the ops memory, and the system summary.
//!
//! Every model call is recorded (tokens, latency, attempts, error). A model failure never
//! becomes a 5xx: root cause falls back to the correlator and says why, log analysis answers
//! `success:false`, chat answers with the error. Without `AI_API_KEY` everything but the model
//! works: root cause is the correlator's, clearly labelled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use serde_json::json;

use super::LlmError;
use super::chat::{self, ChatContext, MAX_LOG_CHARS, MAX_QUESTION_CHARS, ReplyForm};
use super::cluster::cluster;
use super::correlate::{correlate, suggest_runbook};
use super::gather::{gather, problem_levels};
use super::llm::{ChatRequest, Completion, CompletionStream, LlmClient};
use super::log_analysis;
use super::memory::{IncidentFacts, MemoryServiceClient, incident_text, search_terms};
use super::rca::{self, RootCause};
use super::wire::{
    AnalyzeLogsRequest, AnalyzeLogsResponse, ChatResponse, FeedbackRequest, InsightView,
    MemorySearchResponse, MemoryView, PatternView, RootCauseResponse, RootCauseView,
    SystemSummaryView,
};
use crate::clock::Clock;
use crate::model::{
    Alert, AlertFilter, AlertStatus, AnalysisMethod, HostFilter, InsightFeedback, InsightFilter,
    LogWindow, MemoryHit, NewInsight, NewLlmCall, NewMemory, Page, Remediation, Verdict,
};
use crate::protocol::rest::PageOf;
use crate::remediation::diagnosis::{self, Diagnosis, DiagnosisInput};
use crate::store::{Store, StoreError};

/// The runbooks an analysis may recommend (the six built-ins; the remediation engine adds its
/// own as it registers them).
pub const BUILTIN_RUNBOOKS: [&str; 6] = [
    "disk_cleanup",
    "memory_pressure",
    "service_restart",
    "log_rotation",
    "zombie_killer",
    "connection_reset",
];
/// The most hours a log analysis may cover.
const MAX_ANALYSIS_HOURS: f64 = 168.0;
/// The most log lines a log analysis reads (the original's scan limit).
const MAX_ANALYSIS_LOGS: i64 = 500;
/// The message shown when no model is configured.
pub const NOT_CONFIGURED: &str = "AI is not configured: set AI_API_KEY (and AI_API_BASE, AI_MODEL for a provider other than DeepSeek)";

/// What can go wrong in an AI call (model failures are not errors: they are reported in the
/// reply).
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("Alert not found")]
    AlertNotFound,
    #[error("Insight not found")]
    InsightNotFound,
    /// A streamed answer needs a model.
    #[error("{NOT_CONFIGURED}")]
    NotConfigured,
    /// The request was refused: the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The model could not start a streamed answer.
    #[error("the language model failed: {0}")]
    Llm(LlmError),
}

/// The AI engine.
#[derive(Debug, Clone)]
pub struct AiService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    llm: LlmClient,
    memory_service: Option<MemoryServiceClient>,
}

impl AiService {
    /// The engine over `store`, asking `llm` (which may be unconfigured) and, when given, the
    /// external memory service too.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        llm: LlmClient,
        memory_service: Option<MemoryServiceClient>,
    ) -> Self {
        Self {
            store,
            clock,
            llm,
            memory_service,
        }
    }

    /// Whether a model is configured.
    pub fn is_configured(&self) -> bool {
        self.llm.is_configured()
    }

    /// Asks the model once and records the call.
    async fn complete(&self, purpose: &str, request: ChatRequest) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let result = self.llm.complete(request).await;
        let (prompt_tokens, completion_tokens, attempts, error) = match &result {
            Ok(c) => (
                i64::try_from(c.usage.prompt_tokens).ok(),
                i64::try_from(c.usage.completion_tokens).ok(),
                i64::from(c.attempts),
                None,
            ),
            Err(e) => (None, None, attempts_of(e), Some(e.to_string())),
        };
        self.record_call(
            purpose,
            prompt_tokens,
            completion_tokens,
            started,
            attempts,
            error,
        )
        .await;
        result
    }

    /// Records one model call; a failure to record is logged, never fatal.
    pub async fn record_call(
        &self,
        purpose: &str,
        prompt_tokens: Option<i64>,
        completion_tokens: Option<i64>,
        started: Instant,
        attempts: i64,
        error: Option<String>,
    ) {
        let call = NewLlmCall {
            purpose: purpose.to_owned(),
            model: self.llm.config().model.clone(),
            prompt_tokens,
            completion_tokens,
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            attempts,
            error,
            at: self.clock.now(),
        };
        if let Err(error) = self.store.record_llm_call(call).await {
            tracing::warn!(%error, "could not record an LLM call");
        }
    }

    /// Root cause of an alert: evidence, the correlator, then the model when configured. The
    /// result is stored as a `root_cause` insight.
    pub async fn root_cause(&self, alert_id: i64) -> Result<RootCauseResponse, AiError> {
        let alert = self
            .store
            .alert(alert_id)
            .await?
            .ok_or(AiError::AlertNotFound)?;
        let now = self.clock.now();
        let gathered = gather(self.store.as_ref(), &alert, now).await?;
        let correlation = correlate(&gathered.subject, &gathered.items);
        let fallback_runbook = suggest_runbook(&correlation, &gathered.items, &BUILTIN_RUNBOOKS);
        let mut memory_context: Vec<String> = gathered
            .memories
            .iter()
            .map(|hit| hit.memory.memory.content.clone())
            .collect();
        if let Some(service) = &self.memory_service {
            memory_context.extend(service.recall(&alert.title, 5).await);
        }

        let mut error = None;
        let mut model = None;
        let analysis = if self.llm.is_configured() {
            let messages = rca::messages(
                &gathered.facts,
                &gathered.items,
                &correlation,
                &memory_context,
                &BUILTIN_RUNBOOKS,
            );
            let request = ChatRequest::new(messages)
                .temperature(0.1)
                .overflow(super::budget::Overflow::TrimLargest);
            match self.complete("root_cause", request).await {
                Ok(completion) => {
                    match rca::parse_reply(&completion.content, &gathered.items, &BUILTIN_RUNBOOKS)
                    {
                        Ok(parsed) => {
                            model = Some(
                                completion
                                    .model
                                    .unwrap_or_else(|| self.llm.config().model.clone()),
                            );
                            parsed
                        }
                        Err(reply_error) => {
                            error = Some(format!(
                                "{reply_error}; showing the deterministic correlation instead"
                            ));
                            RootCause::from_correlation(&correlation, fallback_runbook)
                        }
                    }
                }
                Err(llm_error) => {
                    error = Some(format!(
                        "the language model failed ({llm_error}); showing the deterministic \
                         correlation instead"
                    ));
                    RootCause::from_correlation(&correlation, fallback_runbook)
                }
            }
        } else {
            RootCause::from_correlation(&correlation, fallback_runbook)
        };

        let view = RootCauseView::from(&analysis);
        let similar: Vec<MemoryView> = gathered.memories.iter().map(MemoryView::from).collect();
        let details = json!({
            "analysis": view,
            "evidence_items": gathered.items,
            "window": {"from": gathered.from, "to": gathered.to},
            "similar_incidents": similar,
            "error": error,
        });
        let insight = self
            .store
            .insert_insight(
                NewInsight {
                    insight_type: "root_cause".to_owned(),
                    severity: alert.severity.as_str().to_owned(),
                    title: format!("Root cause: {}", alert.title),
                    summary: Some(analysis.headline()),
                    details: Some(details),
                    related_host_id: alert.host_id,
                    related_alert_id: Some(alert.id),
                    method: analysis.method,
                    model,
                },
                now,
            )
            .await?;
        if let Some(service) = &self.memory_service {
            let text = format!(
                "根因分析: 告警={}, 结论={}",
                alert.title,
                analysis.headline()
            );
            service
                .store(&text, "vigilops-root-cause", &["root_cause"])
                .await;
        }
        Ok(RootCauseResponse {
            alert_id: alert.id,
            analysis: view,
            memory_context,
            evidence_items: gathered.items,
            similar_incidents: similar,
            insight_id: insight.id,
            error,
        })
    }

    /// Log analysis over the last `hours`: clustered patterns always, the model's assessment
    /// when configured. Stores an `anomaly` insight when the model answered.
    pub async fn analyze_logs(
        &self,
        request: AnalyzeLogsRequest,
    ) -> Result<AnalyzeLogsResponse, AiError> {
        if !request.hours.is_finite() || request.hours <= 0.0 || request.hours > MAX_ANALYSIS_HOURS
        {
            return Err(AiError::Invalid(format!(
                "hours must be more than 0 and at most {MAX_ANALYSIS_HOURS}"
            )));
        }
        let now = self.clock.now();
        let levels = match request.level.as_deref().map(str::trim) {
            Some(level) if !level.is_empty() => vec![level.to_ascii_uppercase()],
            _ => problem_levels(),
        };
        #[allow(clippy::cast_possible_truncation)]
        let window = LogWindow {
            host_id: request.host_id,
            service: None,
            levels,
            from: now - Duration::seconds((request.hours * 3600.0) as i64),
            to: now,
            limit: MAX_ANALYSIS_LOGS,
        };
        let log_count = self.store.count_logs(&window).await?;
        let logs = self.store.logs_in_window(&window).await?;
        let patterns = cluster(&logs);
        let pattern_views: Vec<PatternView> = patterns.iter().map(PatternView::from).collect();
        if !self.llm.is_configured() {
            return Ok(AnalyzeLogsResponse {
                success: false,
                analysis: Some(log_analysis::deterministic(&patterns, log_count)),
                error: Some(NOT_CONFIGURED.to_owned()),
                log_count,
                patterns: pattern_views,
                insight_id: None,
            });
        }
        if patterns.is_empty() {
            return Ok(AnalyzeLogsResponse {
                success: true,
                analysis: Some(log_analysis::deterministic(&patterns, log_count)),
                error: None,
                log_count,
                patterns: pattern_views,
                insight_id: None,
            });
        }
        let request = ChatRequest::new(log_analysis::messages(&patterns, log_count, request.hours))
            .overflow(super::budget::Overflow::TrimLargest);
        match self.complete("log_analysis", request).await {
            Ok(completion) => {
                let analysis = log_analysis::parse_reply(&completion.content);
                let severity = analysis["severity"].as_str().unwrap_or("info").to_owned();
                let title = analysis["title"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .unwrap_or("Log analysis")
                    .to_owned();
                let insight = self
                    .store
                    .insert_insight(
                        NewInsight {
                            insight_type: "anomaly".to_owned(),
                            severity: severity.clone(),
                            title: title.clone(),
                            summary: analysis["summary"].as_str().map(str::to_owned),
                            details: Some(json!({"analysis": analysis, "patterns": pattern_views})),
                            related_host_id: window.host_id,
                            related_alert_id: None,
                            method: AnalysisMethod::Llm,
                            model: completion.model.clone(),
                        },
                        now,
                    )
                    .await?;
                if severity != "info"
                    && let Some(service) = &self.memory_service
                {
                    let text = format!("日志分析 [{severity}]: {title}");
                    service
                        .store(&text, "vigilops-log-analysis", &["log_analysis"])
                        .await;
                }
                Ok(AnalyzeLogsResponse {
                    success: true,
                    analysis: Some(analysis),
                    error: None,
                    log_count,
                    patterns: pattern_views,
                    insight_id: Some(insight.id),
                })
            }
            Err(error) => Ok(AnalyzeLogsResponse {
                success: false,
                analysis: Some(log_analysis::deterministic(&patterns, log_count)),
                error: Some(error.to_string()),
                log_count,
                patterns: pattern_views,
                insight_id: None,
            }),
        }
    }

    /// The live context of a chat question.
    pub async fn chat_context(&self, question: &str) -> Result<ChatContext, AiError> {
        let now = self.clock.now();
        let mut context = ChatContext::default();
        let mut hostnames = BTreeMap::new();
        let (hosts, _) = self
            .store
            .list_hosts(&HostFilter {
                page: Page {
                    page: 1,
                    page_size: 200,
                },
                ..HostFilter::default()
            })
            .await?;
        for host in &hosts {
            hostnames.insert(host.id, host.hostname.clone());
        }
        let host_name = |id: Option<i64>| {
            id.map_or_else(
                || "-".to_owned(),
                |id| {
                    hostnames
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("host-{id}"))
                },
            )
        };
        let (alerts, _) = self
            .store
            .list_alerts(&AlertFilter {
                status: Some(AlertStatus::Firing),
                page: Page {
                    page: 1,
                    page_size: 20,
                },
                ..AlertFilter::default()
            })
            .await?;
        context.alerts = alerts
            .iter()
            .map(|a| {
                format!(
                    "#{} [{}] {} on {} since {}{}",
                    a.id,
                    a.severity.as_str(),
                    a.title,
                    host_name(a.host_id),
                    a.fired_at.format("%Y-%m-%d %H:%M:%S"),
                    a.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let logs = self
            .store
            .logs_in_window(&LogWindow {
                host_id: None,
                service: None,
                levels: problem_levels(),
                from: now - Duration::hours(1),
                to: now,
                limit: 50,
            })
            .await?;
        context.logs = logs
            .iter()
            .map(|l| {
                format!(
                    "[{}] [{}] host={} service={} {}",
                    l.timestamp.format("%Y-%m-%d %H:%M:%S"),
                    l.level.as_deref().unwrap_or("UNKNOWN"),
                    host_name(Some(l.host_id)),
                    l.service.as_deref().unwrap_or("-"),
                    l.message.chars().take(MAX_LOG_CHARS).collect::<String>()
                )
            })
            .collect();
        let ids: Vec<i64> = hosts.iter().map(|h| h.id).collect();
        let latest = self
            .store
            .latest_metrics(&ids, now - Duration::minutes(15))
            .await?;
        let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}%"));
        context.metrics = hosts
            .iter()
            .filter_map(|h| {
                latest.get(&h.id).map(|m| {
                    format!(
                        "{} ({}): cpu {}, memory {}, disk {}",
                        h.hostname,
                        h.status.as_str(),
                        fmt(m.values.cpu_percent),
                        fmt(m.values.memory_percent),
                        fmt(m.values.disk_percent)
                    )
                })
            })
            .collect();
        let services: Vec<_> = self
            .store
            .services_overview(None)
            .await?
            .into_iter()
            .filter(|s| s.is_active)
            .take(100)
            .collect();
        context.services = services
            .iter()
            .map(|s| {
                format!(
                    "{} on {} ({} {}): {}",
                    s.name,
                    host_name(Some(s.host_id)),
                    s.check_type,
                    s.target,
                    s.status
                )
            })
            .collect();
        // The topology: what each service depends on (manual and discovered edges).
        let names: BTreeMap<i64, String> = services
            .iter()
            .map(|s| {
                (
                    s.id,
                    format!("{} on {}", s.name, host_name(Some(s.host_id))),
                )
            })
            .collect();
        for service in &services {
            let upstream = self.store.upstream_services(service.id).await?;
            let targets: Vec<&str> = upstream
                .iter()
                .filter_map(|id| names.get(id).map(String::as_str))
                .collect();
            if let (Some(source), false) = (names.get(&service.id), targets.is_empty()) {
                context
                    .dependencies
                    .push(format!("{source} → {}", targets.join(", ")));
            }
        }
        let hits = self.store.recall(&search_terms(question), None, 5).await?;
        context.memories = hits
            .iter()
            .map(|h| h.memory.memory.content.clone())
            .collect();
        if let Some(service) = &self.memory_service {
            context.memories.extend(service.recall(question, 5).await);
        }
        Ok(context)
    }

    /// One chat answer. A model failure (or no model) is described in `answer` and `error`.
    pub async fn chat(&self, question: &str) -> Result<ChatResponse, AiError> {
        let question = checked_question(question)?;
        let context = self.chat_context(question).await?;
        if !self.llm.is_configured() {
            return Ok(ChatResponse {
                answer: NOT_CONFIGURED.to_owned(),
                sources: Vec::new(),
                memory_context: context.memories,
                insight_id: None,
                error: Some(NOT_CONFIGURED.to_owned()),
            });
        }
        let request = ChatRequest::new(chat::messages(question, &context, ReplyForm::Json))
            .overflow(super::budget::Overflow::TrimLargest);
        match self.complete("chat", request).await {
            Ok(completion) => {
                let (answer, sources) = chat::parse_reply(&completion.content);
                let insight = self
                    .store_chat_insight(question, &answer, completion.model.clone())
                    .await?;
                Ok(ChatResponse {
                    answer,
                    sources,
                    memory_context: context.memories,
                    insight_id: Some(insight),
                    error: None,
                })
            }
            Err(error) => Ok(ChatResponse {
                answer: format!("The AI service failed: {error}"),
                sources: Vec::new(),
                memory_context: context.memories,
                insight_id: None,
                error: Some(error.to_string()),
            }),
        }
    }

    /// A streamed chat answer: the context (for its sources) and the model's stream. The caller
    /// relays the deltas and then calls [`AiService::finish_chat_stream`] with the whole text.
    pub async fn chat_stream(
        &self,
        question: &str,
    ) -> Result<(ChatContext, CompletionStream, Instant), AiError> {
        let question = checked_question(question)?;
        if !self.llm.is_configured() {
            return Err(AiError::NotConfigured);
        }
        let context = self.chat_context(question).await?;
        let request = ChatRequest::new(chat::messages(question, &context, ReplyForm::Text))
            .overflow(super::budget::Overflow::TrimLargest);
        let started = Instant::now();
        match self.llm.stream(request).await {
            Ok(stream) => Ok((context, stream, started)),
            Err(error) => {
                self.record_call(
                    "chat_stream",
                    None,
                    None,
                    started,
                    attempts_of(&error),
                    Some(error.to_string()),
                )
                .await;
                Err(AiError::Llm(error))
            }
        }
    }

    /// Records a finished (or failed) streamed answer and stores it as a `chat` insight.
    pub async fn finish_chat_stream(
        &self,
        question: &str,
        answer: &str,
        usage: Option<super::llm::Usage>,
        started: Instant,
        attempts: u32,
        error: Option<String>,
    ) -> Result<Option<i64>, AiError> {
        self.record_call(
            "chat_stream",
            usage.and_then(|u| i64::try_from(u.prompt_tokens).ok()),
            usage.and_then(|u| i64::try_from(u.completion_tokens).ok()),
            started,
            i64::from(attempts),
            error.clone(),
        )
        .await;
        if error.is_some() || answer.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(self.store_chat_insight(question, answer, None).await?))
    }

    async fn store_chat_insight(
        &self,
        question: &str,
        answer: &str,
        model: Option<String>,
    ) -> Result<i64, AiError> {
        let title: String = question.chars().take(80).collect();
        let insight = self
            .store
            .insert_insight(
                NewInsight {
                    insight_type: "chat".to_owned(),
                    severity: "info".to_owned(),
                    title: title.clone(),
                    summary: Some(answer.chars().take(500).collect()),
                    details: Some(json!({"question": question, "answer": answer})),
                    related_host_id: None,
                    related_alert_id: None,
                    method: AnalysisMethod::Llm,
                    model: model.or_else(|| Some(self.llm.config().model.clone())),
                },
                self.clock.now(),
            )
            .await?;
        if let Some(service) = &self.memory_service {
            let text = format!(
                "运维问答: Q={title} A={}",
                answer.chars().take(300).collect::<String>()
            );
            service.store(&text, "vigilops-chat", &["chat"]).await;
        }
        Ok(insight.id)
    }

    /// A page of insights.
    pub async fn insights(&self, filter: &InsightFilter) -> Result<PageOf<InsightView>, AiError> {
        let (items, total) = self.store.list_insights(filter).await?;
        Ok(PageOf {
            items: items.into_iter().map(InsightView::from).collect(),
            total,
            page: filter.page.page,
            page_size: filter.page.page_size,
        })
    }

    /// One insight.
    pub async fn insight(&self, id: i64) -> Result<InsightView, AiError> {
        self.store
            .insight(id)
            .await?
            .map(InsightView::from)
            .ok_or(AiError::InsightNotFound)
    }

    /// Records a person's verdict on an insight; for a root cause, the alert's memories carry
    /// the verdict too, so later recalls know whether the analysis was right.
    pub async fn feedback(
        &self,
        id: i64,
        request: FeedbackRequest,
        user_id: Option<i64>,
    ) -> Result<InsightView, AiError> {
        let verdict = Verdict::parse(request.verdict.trim()).ok_or_else(|| {
            AiError::Invalid("verdict must be \"correct\" or \"incorrect\"".to_owned())
        })?;
        let comment = request
            .comment
            .map(|c| c.trim().chars().take(2000).collect::<String>())
            .filter(|c| !c.is_empty());
        let insight = match self
            .store
            .set_insight_feedback(
                id,
                InsightFeedback {
                    verdict,
                    comment,
                    by: user_id,
                    at: self.clock.now(),
                },
            )
            .await
        {
            Ok(insight) => insight,
            Err(StoreError::NotFound(_)) => return Err(AiError::InsightNotFound),
            Err(error) => return Err(error.into()),
        };
        if let Some(alert_id) = insight.related_alert_id {
            self.store.set_memory_verdict(alert_id, verdict).await?;
        }
        Ok(InsightView::from(insight))
    }

    /// Similar past incidents for free text, with a digest of what fixed them.
    pub async fn memory_search(
        &self,
        query: &str,
        limit: i64,
    ) -> Result<MemorySearchResponse, AiError> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > MAX_QUESTION_CHARS {
            return Err(AiError::Invalid(format!(
                "q must be 1 to {MAX_QUESTION_CHARS} characters"
            )));
        }
        let hits = self
            .store
            .recall(&search_terms(query), None, limit.clamp(1, 50))
            .await?;
        Ok(MemorySearchResponse {
            query: query.to_owned(),
            digest: digest(&hits),
            items: hits.iter().map(MemoryView::from).collect(),
        })
    }

    /// `GET /ai/system-summary`.
    pub async fn system_summary(&self) -> Result<SystemSummaryView, AiError> {
        let since = self.clock.now() - Duration::hours(1);
        Ok(self.store.system_summary(since).await?.into())
    }

    /// Remembers a resolved alert as an incident: what happened, the latest root cause and its
    /// verdict, commands run on the host while it was open, and how it ended.
    pub async fn remember_resolved(&self, alert_id: i64) -> Result<(), AiError> {
        let Some(alert) = self.store.alert(alert_id).await? else {
            return Err(AiError::AlertNotFound);
        };
        let hostname = match alert.host_id {
            Some(id) => self.store.host(id).await?.map(|h| h.hostname),
            None => None,
        };
        let service = match alert.service_id {
            Some(id) => self.store.service_name(id).await?,
            None => None,
        };
        let rule_name = match alert.rule_id {
            Some(id) => self.store.rule(id).await?.map(|r| r.rule.name),
            None => None,
        };
        let (insights, _) = self
            .store
            .list_insights(&InsightFilter {
                insight_type: Some("root_cause".to_owned()),
                related_alert_id: Some(alert.id),
                page: Page {
                    page: 1,
                    page_size: 1,
                },
                ..InsightFilter::default()
            })
            .await?;
        let analysis = insights.into_iter().next();
        let runbook = analysis
            .as_ref()
            .and_then(|i| i.details.as_ref())
            .and_then(|d| d["analysis"]["recommended_runbook"].as_str())
            .map(str::to_owned);
        let verdict = analysis
            .as_ref()
            .and_then(|i| i.feedback.as_ref())
            .map(|f| f.verdict);
        let outcome = if alert.resolved_by.is_some() {
            "resolved by hand"
        } else {
            "resolved"
        };
        let root_cause = analysis.as_ref().and_then(|i| i.summary.clone());
        // What was done on the host while the alert was open.
        let until = alert.resolved_at.unwrap_or_else(|| self.clock.now());
        let actions: Vec<String> = match alert.host_id {
            Some(host_id) => self
                .store
                .host_commands(host_id, 50)
                .await?
                .into_iter()
                .filter(|c| c.created_at >= alert.fired_at && c.created_at <= until)
                .rev()
                .map(|c| format!("`{}` {}", c.argv.join(" "), c.status.as_str()))
                .collect(),
            None => Vec::new(),
        };
        let actions = (!actions.is_empty()).then(|| actions.join(", "));
        let facts = IncidentFacts {
            alert_title: &alert.title,
            severity: alert.severity.as_str(),
            hostname: hostname.as_deref(),
            service: service.as_deref(),
            rule_name: rule_name.as_deref(),
            duration_seconds: alert
                .resolved_at
                .map(|at| (at - alert.fired_at).num_seconds()),
            root_cause: root_cause.as_deref(),
            runbook: runbook.as_deref(),
            actions: actions.as_deref(),
            outcome,
            feedback: verdict.map(Verdict::as_str),
            resolution_comment: alert.resolution_comment.as_deref(),
        };
        let content = incident_text(&facts);
        let search_text = search_terms(&format!(
            "{} {} {} {} {}",
            alert.title,
            alert.message.as_deref().unwrap_or(""),
            service.as_deref().unwrap_or(""),
            rule_name.as_deref().unwrap_or(""),
            root_cause.as_deref().unwrap_or("")
        ))
        .join(" ");
        self.store
            .remember(NewMemory {
                source: "vigilops-incident".to_owned(),
                title: alert.title.clone(),
                content: content.clone(),
                search_text,
                alert_id: Some(alert.id),
                rule_id: alert.rule_id,
                host_id: alert.host_id,
                runbook,
                outcome: Some(outcome.to_owned()),
                verdict,
                at: alert.resolved_at.unwrap_or_else(|| self.clock.now()),
            })
            .await?;
        if let Some(service) = &self.memory_service {
            service
                .store(&content, "vigilops-incident", &["incident"])
                .await;
        }
        Ok(())
    }

    /// The diagnosis a remediation of `alert` starts from (`remediation-and-ai.md` §4): the
    /// model's when one is configured (with the correlator's finding as context; any failure
    /// gives the "unavailable" diagnosis, which blocks), else the rules' weighed by the
    /// correlator. `runbook_for_type` is the runbook made for the alert's type, if any.
    pub async fn diagnose_remediation(
        &self,
        alert: &Alert,
        input: RemediationQuestion<'_>,
    ) -> Result<Diagnosis, AiError> {
        let gathered = gather(self.store.as_ref(), alert, self.clock.now()).await?;
        let correlation = correlate(&gathered.subject, &gathered.items);
        if !self.llm.is_configured() {
            return Ok(diagnosis::by_rules(
                input.alert_type,
                input.runbook_for_type,
                &gathered.subject.target,
                correlation.first_failing.as_deref(),
            ));
        }
        let context = json!({
            "first_failing": correlation.first_failing,
            "correlator_root_cause": correlation.root_cause,
            "correlator_confidence": correlation.confidence.as_str(),
        });
        let question = DiagnosisInput {
            summary: &alert.title,
            host: input.hostname,
            alert_type: input.alert_type,
            severity: alert.severity.as_str(),
            labels: input.labels,
            context: Some(&context),
        };
        let request = ChatRequest::new(diagnosis::messages(&question, input.runbooks))
            .temperature(0.1)
            .max_tokens(1024);
        Ok(match self.complete("remediation", request).await {
            Ok(completion) => diagnosis::parse_reply(&completion.content, input.runbooks),
            Err(error) => Diagnosis::unavailable(&error.to_string()),
        })
    }

    /// Dependencies the model suggests between `services`, by name (`POST
    /// /topology/ai-suggest`). `NotConfigured` without a model; `Llm` when it fails or its reply
    /// is not the asked JSON.
    pub async fn suggest_dependencies(
        &self,
        services: &[super::topology::ServiceBrief],
    ) -> Result<Vec<super::topology::RawSuggestion>, AiError> {
        if !self.llm.is_configured() {
            return Err(AiError::NotConfigured);
        }
        let request = ChatRequest::new(super::topology::messages(services)).temperature(0.3);
        let completion = self
            .complete("topology", request)
            .await
            .map_err(AiError::Llm)?;
        super::topology::parse_reply(&completion.content).ok_or_else(|| {
            AiError::Llm(LlmError::Malformed(
                "the suggestions are not a JSON array".to_owned(),
            ))
        })
    }

    /// Remembers a finished remediation run (`remediation-and-ai.md` §6): what was wrong, the
    /// runbook, what ran and how it ended, so the next diagnosis of a similar alert recalls it.
    pub async fn remember_remediation(
        &self,
        run: &Remediation,
        alert: &Alert,
        hostname: &str,
    ) -> Result<(), AiError> {
        let runbook = run.runbook_name.clone();
        let commands: Vec<String> = run
            .command_results
            .as_ref()
            .and_then(|results| results.as_array())
            .map(|results| {
                results
                    .iter()
                    .map(|r| {
                        format!(
                            "`{}` exit {}",
                            r["command"].as_str().unwrap_or_default(),
                            r["exit_code"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let root_cause = run
            .diagnosis
            .as_ref()
            .and_then(|d| d["root_cause"].as_str())
            .unwrap_or("unknown");
        let mut content = format!(
            "修复经验 [{}]: 告警={}, 主机={hostname}. Runbook: {}. Root cause: {root_cause}.",
            run.status.as_str(),
            alert.title,
            runbook.as_deref().unwrap_or("none"),
        );
        if !commands.is_empty() {
            content.push_str(&format!(" Commands: {}.", commands.join(", ")));
        }
        match run.verification_passed {
            Some(true) => content.push_str(" Verification passed."),
            Some(false) => content.push_str(" Verification failed."),
            None => {}
        }
        if let Some(reason) = &run.blocked_reason {
            content.push_str(&format!(" Stopped: {reason}."));
        }
        let search_text = search_terms(&format!(
            "{} {} {} {root_cause}",
            alert.title,
            alert.message.as_deref().unwrap_or(""),
            runbook.as_deref().unwrap_or("")
        ))
        .join(" ");
        self.store
            .remember(NewMemory {
                source: "vigilops-remediation".to_owned(),
                title: alert.title.clone(),
                content: content.clone(),
                search_text,
                alert_id: Some(alert.id),
                rule_id: alert.rule_id,
                host_id: alert.host_id,
                runbook,
                outcome: Some(run.status.as_str().to_owned()),
                verdict: None,
                at: run.completed_at.unwrap_or_else(|| self.clock.now()),
            })
            .await?;
        if let Some(service) = &self.memory_service {
            service
                .store(&content, "vigilops-remediation", &["remediation"])
                .await;
        }
        Ok(())
    }

    /// Asks the model to write the report `title` over `period` from `facts` (the period's
    /// figures as text, sent as a data block) and records the call. Returns the Markdown and
    /// the `【摘要】` summary, if the reply had one. `NotConfigured` without a model.
    pub async fn write_report(
        &self,
        title: &str,
        period: &str,
        facts: &str,
    ) -> Result<(String, Option<String>), LlmError> {
        if !self.llm.is_configured() {
            return Err(LlmError::NotConfigured);
        }
        let request = ChatRequest::new(super::report::messages(title, period, facts))
            .overflow(super::budget::Overflow::TrimLargest);
        let completion = self.complete("report", request).await?;
        Ok(super::report::split_summary(&completion.content))
    }

    /// The scheduled anomaly scan (`AI_AUTO_SCAN`): a log analysis of the last hour.
    pub async fn anomaly_scan(&self) -> Result<AnalyzeLogsResponse, AiError> {
        self.analyze_logs(AnalyzeLogsRequest {
            hours: 1.0,
            host_id: None,
            level: None,
        })
        .await
    }
}

#[cfg(feature = "notify")]
impl crate::alerting::engine::AlertObserver for AiService {
    /// Remembers the incident on a task of its own; a failure is logged.
    fn alert_resolved(&self, alert_id: i64) {
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.remember_resolved(alert_id).await {
                tracing::warn!(%error, alert_id, "could not remember a resolved incident");
            }
        });
    }
}

/// What a remediation diagnosis asks about an alert.
#[derive(Debug, Clone, Copy)]
pub struct RemediationQuestion<'a> {
    pub hostname: &'a str,
    pub alert_type: &'a str,
    pub labels: &'a serde_json::Value,
    /// The runbooks the model may pick from.
    pub runbooks: &'a [&'a str],
    /// The runbook made for the alert type, if any (the rules' suggestion).
    pub runbook_for_type: Option<&'a str>,
}

fn checked_question(question: &str) -> Result<&str, AiError> {
    let question = question.trim();
    if question.is_empty() {
        return Err(AiError::Invalid("question must not be empty".to_owned()));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(AiError::Invalid(format!(
            "question is longer than {MAX_QUESTION_CHARS} characters"
        )));
    }
    Ok(question)
}

fn attempts_of(error: &LlmError) -> i64 {
    match error {
        LlmError::Http { attempts, .. }
        | LlmError::Timeout { attempts }
        | LlmError::Connect { attempts, .. } => i64::from(*attempts),
        _ => 1,
    }
}

/// "seen 3 times before; disk_cleanup fixed it twice".
pub fn digest(hits: &[MemoryHit]) -> Option<String> {
    if hits.is_empty() {
        return None;
    }
    let mut fixes: BTreeMap<&str, usize> = BTreeMap::new();
    for hit in hits {
        let memory = &hit.memory.memory;
        if let Some(runbook) = memory.runbook.as_deref()
            && memory.verdict != Some(Verdict::Incorrect)
            && memory
                .outcome
                .as_deref()
                .is_some_and(|o| o.starts_with("resolved") || o == "success")
        {
            *fixes.entry(runbook).or_default() += 1;
        }
    }
    let times = |n: usize| match n {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    };
    let mut text = format!("seen {} before", times(hits.len()));
    let mut ranked: Vec<(&str, usize)> = fixes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (runbook, count) in ranked {
        text.push_str(&format!("; {runbook} fixed it {}", times(count)));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Memory, NewMemory};

    fn hit(runbook: Option<&str>, outcome: &str, verdict: Option<Verdict>) -> MemoryHit {
        MemoryHit {
            memory: Memory {
                id: 1,
                memory: NewMemory {
                    source: "vigilops-incident".to_owned(),
                    title: "t".to_owned(),
                    content: "c".to_owned(),
                    search_text: "t".to_owned(),
                    alert_id: None,
                    rule_id: None,
                    host_id: None,
                    runbook: runbook.map(str::to_owned),
                    outcome: Some(outcome.to_owned()),
                    verdict,
                    at: chrono::DateTime::UNIX_EPOCH,
                },
            },
            score: 1.0,
        }
    }

    #[test]
    fn the_digest_counts_what_fixed_past_incidents() {
        assert_eq!(digest(&[]), None);
        let hits = vec![
            hit(Some("disk_cleanup"), "resolved", None),
            hit(Some("disk_cleanup"), "resolved", Some(Verdict::Correct)),
            hit(Some("log_rotation"), "resolved", Some(Verdict::Incorrect)),
        ];
        assert_eq!(
            digest(&hits).as_deref(),
            Some("seen 3 times before; disk_cleanup fixed it twice")
        );
    }

    #[test]
    fn questions_are_checked() {
        assert!(checked_question("  ").is_err());
        assert!(checked_question(&"x".repeat(MAX_QUESTION_CHARS + 1)).is_err());
        assert_eq!(checked_question(" why? ").ok(), Some("why?"));
    }
}
