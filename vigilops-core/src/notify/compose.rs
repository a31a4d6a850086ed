//! Builds the [`Notification`] for an alert event: the channel's template when there is one, the
//! built-in body (§7) otherwise, and the built-in body again if a stored template fails to render,
//! so nothing half-rendered is ever sent.

use serde_json::json;

use super::template::{NotificationTemplate, TemplateContext};
use super::{Notification, NotificationKind, Severity};

/// The fire time as the built-in bodies show it.
fn shown_time(context: &TemplateContext) -> String {
    context
        .fired_at
        .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn severity(context: &TemplateContext) -> Severity {
    match context.severity.as_str() {
        "critical" => Severity::Critical,
        "info" => Severity::Info,
        _ => Severity::Warning,
    }
}

fn kind(context: &TemplateContext) -> NotificationKind {
    if context.status == "resolved" {
        NotificationKind::Resolved
    } else {
        NotificationKind::Firing
    }
}

/// The built-in lines: title, severity, message, fire time (and the resolve time when resolved).
fn builtin_lines(context: &TemplateContext) -> Vec<String> {
    let mut lines = vec![
        format!("**标题**: {}", context.title),
        format!("**级别**: {}", context.severity),
        format!("**消息**: {}", context.message),
        format!("**触发时间**: {}", shown_time(context)),
    ];
    if let Some(resolved_at) = context.resolved_at {
        lines.push(format!(
            "**恢复时间**: {}",
            resolved_at.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    lines
}

/// The original's webhook body without a template (§7.1).
pub fn webhook_alert_object(
    context: &TemplateContext,
    service_id: Option<i64>,
) -> serde_json::Value {
    json!({
        "alert_id": context.alert_id,
        "title": context.title,
        "message": context.message,
        "severity": context.severity,
        "status": if context.status.is_empty() { "firing" } else { context.status.as_str() },
        "metric_value": context.metric_value,
        "threshold": context.threshold,
        "host_id": context.host_id,
        "service_id": service_id,
        "fired_at": context.fired_at.map(|at| at.to_rfc3339()),
        "resolved_at": context.resolved_at.map(|at| at.to_rfc3339()),
    })
}

/// The message for an alert event. With a template, the body (and the email subject) are its
/// rendering and the webhook sends `{"text": …}`; without one, or when rendering fails, the
/// built-in body is used and the webhook sends the alert object.
pub fn alert_notification(
    context: &TemplateContext,
    template: Option<&NotificationTemplate>,
    service_id: Option<i64>,
) -> Notification {
    let kind = kind(context);
    if let Some(template) = template {
        let rendered = template.body.render(context).and_then(|body| {
            let subject = template
                .subject
                .as_ref()
                .map(|subject| subject.render(context))
                .transpose()?;
            Ok((body, subject))
        });
        match rendered {
            Ok((body, subject)) => {
                let mut message =
                    Notification::new(context.title.clone(), severity(context), kind, body);
                message.subject = subject;
                return message;
            }
            Err(error) => {
                tracing::warn!(%error, alert_id = context.alert_id, "template failed to render; using the built-in body");
            }
        }
    }
    // The heading ("⚠️ [告警] …" / "✅ [已恢复] …") is each channel's: a card header on Feishu,
    // a Markdown heading on DingTalk and WeCom, the subject for email.
    let lines = builtin_lines(context);
    let mut message = Notification::new(context.title.clone(), severity(context), kind, "");
    message.markdown = lines.join("\n\n");
    message.text = lines.join("\n").replace("**", "");
    message.webhook_payload = Some(webhook_alert_object(context, service_id));
    message
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn context() -> TemplateContext {
        TemplateContext {
            title: "CPU 使用率过高 - web-01".into(),
            severity: "warning".into(),
            message: "cpu_percent = 97.5 > 90.0".into(),
            metric_value: Some(97.5),
            threshold: Some(90.0),
            host_id: Some(7),
            alert_id: Some(42),
            status: "firing".into(),
            fired_at: Some(Utc.with_ymd_and_hms(2026, 2, 21, 10, 0, 0).unwrap()),
            ..TemplateContext::default()
        }
    }

    #[test]
    fn builtin_body_and_the_originals_webhook_object() {
        let message = alert_notification(&context(), None, None);
        assert_eq!(
            message.markdown,
            "**标题**: CPU 使用率过高 - web-01\n\n**级别**: warning\n\n\
             **消息**: cpu_percent = 97.5 > 90.0\n\n**触发时间**: 2026-02-21 10:00:00"
        );
        assert_eq!(
            message.webhook_payload,
            Some(json!({"alert_id": 42, "title": "CPU 使用率过高 - web-01",
                "message": "cpu_percent = 97.5 > 90.0", "severity": "warning", "status": "firing",
                "metric_value": 97.5, "threshold": 90.0, "host_id": 7, "service_id": null,
                "fired_at": "2026-02-21T10:00:00+00:00", "resolved_at": null}))
        );
        assert_eq!(message.kind, NotificationKind::Firing);
    }

    #[test]
    fn a_template_replaces_the_body_and_subject() {
        let template =
            NotificationTemplate::compile(Some("[{severity}] {title}"), "{host_id}: {message}")
                .unwrap();
        let message = alert_notification(&context(), Some(&template), None);
        assert_eq!(message.markdown, "7: cpu_percent = 97.5 > 90.0");
        assert_eq!(
            message.subject.as_deref(),
            Some("[warning] CPU 使用率过高 - web-01")
        );
        assert_eq!(
            message.webhook_payload, None,
            "the webhook sends {{\"text\": …}}"
        );
    }

    #[test]
    fn resolved_events_look_resolved() {
        let mut context = context();
        context.status = "resolved".into();
        context.resolved_at = Some(Utc.with_ymd_and_hms(2026, 2, 21, 10, 12, 5).unwrap());
        let message = alert_notification(&context, None, None);
        assert_eq!(message.kind, NotificationKind::Resolved);
        assert!(message.text.ends_with("恢复时间: 2026-02-21 10:12:05"));
        assert_eq!(message.display_title(), "[已恢复] CPU 使用率过高 - web-01");
    }
}
