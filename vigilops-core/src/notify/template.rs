//! Notification templates (§6): the original's syntax (`{name}` placeholders, `{{` and `}}` for
//! literal braces), compiled into a MiniJinja template with strict undefined behaviour.
//!
//! A template is checked when it is saved: unbalanced braces, a placeholder that is not a plain
//! variable name and a variable outside [`VARIABLES`] are refused with the field named. Rendering
//! either produces the whole text or fails; it never sends a half-rendered message (§8.4).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior, Value};

/// Every variable a template may use: the original's, then ours (§6).
pub const VARIABLES: &[&str] = &[
    "title",
    "severity",
    "message",
    "metric_value",
    "threshold",
    "host_id",
    "fired_at",
    "host",
    "hostname",
    "service",
    "status",
    "resolved_at",
    "duration",
    "rule",
    "metric",
    "alert_id",
    "suppressed_count",
    "runbook",
    "executed_at",
    "error",
];

/// Why a template was refused or could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` without its `}` or a lone `}`.
    #[error("`{field}`: unbalanced `{brace}` at character {position}")]
    UnbalancedBrace {
        /// `subject_template` or `body_template`.
        field: &'static str,
        /// The brace.
        brace: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
    /// A placeholder naming a variable templates do not have.
    #[error("`{field}`: unknown variable `{name}`; known variables: {known}", known = VARIABLES.join(", "))]
    UnknownVariable {
        /// `subject_template` or `body_template`.
        field: &'static str,
        /// The variable.
        name: String,
    },
    /// A placeholder with a format spec, conversion, index or attribute (`{x:>5}`, `{x!r}`,
    /// `{x.y}`), which the original's renderer supported only by accident.
    #[error("`{field}`: unsupported placeholder `{{{placeholder}}}`, use a plain variable name")]
    UnsupportedPlaceholder {
        /// `subject_template` or `body_template`.
        field: &'static str,
        /// The text between the braces.
        placeholder: String,
    },
    /// The engine refused or failed (never expected after validation).
    #[error("`{field}`: {message}")]
    Engine {
        /// `subject_template` or `body_template`.
        field: &'static str,
        /// The engine's message.
        message: String,
    },
}

enum Segment {
    Literal(String),
    Variable(String),
}

/// Splits `source` into literal text and placeholders, as Python's `str.format` does.
fn parse(field: &'static str, source: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut chars = source.chars().enumerate().peekable();
    while let Some((position, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                chars.next();
                literal.push('}');
            }
            '}' => {
                return Err(TemplateError::UnbalancedBrace {
                    field,
                    brace: '}',
                    position,
                });
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, inner) in chars.by_ref() {
                    match inner {
                        '}' => {
                            closed = true;
                            break;
                        }
                        '{' => break,
                        other => name.push(other),
                    }
                }
                if !closed {
                    return Err(TemplateError::UnbalancedBrace {
                        field,
                        brace: '{',
                        position,
                    });
                }
                let is_identifier = name
                    .chars()
                    .next()
                    .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !is_identifier {
                    return Err(TemplateError::UnsupportedPlaceholder {
                        field,
                        placeholder: name,
                    });
                }
                if !VARIABLES.contains(&name.as_str()) {
                    return Err(TemplateError::UnknownVariable { field, name });
                }
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Variable(name));
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

/// The MiniJinja source for `segments`: literal text inside `raw` blocks (with every `{%` split
/// so no literal can close the block), variables as `{{ name }}`.
fn to_jinja(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Variable(name) => {
                out.push_str("{{ ");
                out.push_str(name);
                out.push_str(" }}");
            }
            Segment::Literal(text) => {
                for (index, piece) in text.split("{%").enumerate() {
                    if index > 0 {
                        out.push_str("{{ \"{%\" }}");
                    }
                    if !piece.is_empty() {
                        out.push_str("{% raw %}");
                        out.push_str(piece);
                        out.push_str("{% endraw %}");
                    }
                }
            }
        }
    }
    out
}

/// One checked template text: the MiniJinja source compiled from the original syntax.
#[derive(Debug, Clone)]
pub struct CompiledText {
    field: &'static str,
    jinja: String,
}

/// The engine's settings: strict undefined (a missing value is an error, never `""`), the text
/// kept byte for byte, no HTML escaping (the channels escape for their own formats).
fn environment<'source>() -> Environment<'source> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.set_keep_trailing_newline(true);
    environment.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    environment
}

impl CompiledText {
    /// Checks and compiles `source`; `field` names it in errors.
    pub fn compile(field: &'static str, source: &str) -> Result<Self, TemplateError> {
        let segments = parse(field, source)?;
        let compiled = Self {
            field,
            jinja: to_jinja(&segments),
        };
        let environment = environment();
        let template = environment
            .template_from_str(&compiled.jinja)
            .map_err(|error| compiled.engine_error(&error))?;
        // The engine's own view of the variables must agree with ours.
        if let Some(name) = template
            .undeclared_variables(false)
            .into_iter()
            .find(|name| !VARIABLES.contains(&name.as_str()))
        {
            return Err(TemplateError::UnknownVariable { field, name });
        }
        Ok(compiled)
    }

    fn engine_error(&self, error: &minijinja::Error) -> TemplateError {
        TemplateError::Engine {
            field: self.field,
            message: error.to_string(),
        }
    }

    /// Renders the whole text, or fails.
    pub fn render(&self, context: &TemplateContext) -> Result<String, TemplateError> {
        let environment = environment();
        environment
            .template_from_str(&self.jinja)
            .and_then(|template| template.render(context.to_values()))
            .map_err(|error| self.engine_error(&error))
    }
}

/// A saved template: the email subject (optional) and the body.
#[derive(Debug)]
pub struct NotificationTemplate {
    /// `subject_template`, used by email only.
    pub subject: Option<CompiledText>,
    /// `body_template`.
    pub body: CompiledText,
}

impl NotificationTemplate {
    /// Checks both texts, as the template API does before saving (422 on error).
    pub fn compile(
        subject_template: Option<&str>,
        body_template: &str,
    ) -> Result<Self, TemplateError> {
        Ok(Self {
            subject: subject_template
                .filter(|subject| !subject.is_empty())
                .map(|subject| CompiledText::compile("subject_template", subject))
                .transpose()?,
            body: CompiledText::compile("body_template", body_template)?,
        })
    }
}

/// The values of [`VARIABLES`] for one event; `None` renders as `""` like the original.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateContext {
    /// The alert title.
    pub title: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// The alert message.
    pub message: String,
    /// The measured value.
    pub metric_value: Option<f64>,
    /// The rule's threshold.
    pub threshold: Option<f64>,
    /// The host's id.
    pub host_id: Option<i64>,
    /// When the alert fired.
    pub fired_at: Option<DateTime<Utc>>,
    /// The hostname (`host` and `hostname`).
    pub hostname: Option<String>,
    /// The service's name.
    pub service: Option<String>,
    /// `firing` or `resolved`.
    pub status: String,
    /// When the alert resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The rule's name.
    pub rule: Option<String>,
    /// The metric's name.
    pub metric: Option<String>,
    /// The alert's id.
    pub alert_id: Option<i64>,
    /// Fired notifications suppressed by the cooldown since the last one sent.
    pub suppressed_count: u64,
    /// The remediation's runbook.
    pub runbook: Option<String>,
    /// When the remediation ran.
    pub executed_at: Option<DateTime<Utc>>,
    /// The remediation's error.
    pub error: Option<String>,
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the original's format.
fn timestamp(at: Option<DateTime<Utc>>) -> Value {
    at.map_or_else(
        || Value::from(""),
        |at| Value::from(at.format("%Y-%m-%d %H:%M:%S").to_string()),
    )
}

fn text(value: Option<&String>) -> Value {
    Value::from(value.cloned().unwrap_or_default())
}

/// `12m 5s`, `3h 0m 7s`, `2d 1h 0m 0s`.
pub fn format_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes, rest) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    if days > 0 {
        format!("{days}d {hours}h {minutes}m {rest}s")
    } else if hours > 0 {
        format!("{hours}h {minutes}m {rest}s")
    } else if minutes > 0 {
        format!("{minutes}m {rest}s")
    } else {
        format!("{rest}s")
    }
}

impl TemplateContext {
    fn to_values(&self) -> BTreeMap<&'static str, Value> {
        let number = |value: Option<f64>| value.map_or_else(|| Value::from(""), Value::from);
        let id = |value: Option<i64>| value.map_or_else(|| Value::from(""), Value::from);
        let duration = match (self.fired_at, self.resolved_at) {
            (Some(fired), Some(resolved)) => format_duration((resolved - fired).num_seconds()),
            _ => String::new(),
        };
        BTreeMap::from([
            ("title", Value::from(self.title.clone())),
            ("severity", Value::from(self.severity.clone())),
            ("message", Value::from(self.message.clone())),
            ("metric_value", number(self.metric_value)),
            ("threshold", number(self.threshold)),
            ("host_id", id(self.host_id)),
            ("fired_at", timestamp(self.fired_at)),
            ("host", text(self.hostname.as_ref())),
            ("hostname", text(self.hostname.as_ref())),
            ("service", text(self.service.as_ref())),
            ("status", Value::from(self.status.clone())),
            ("resolved_at", timestamp(self.resolved_at)),
            ("duration", Value::from(duration)),
            ("rule", text(self.rule.as_ref())),
            ("metric", text(self.metric.as_ref())),
            ("alert_id", id(self.alert_id)),
            ("suppressed_count", Value::from(self.suppressed_count)),
            ("runbook", text(self.runbook.as_ref())),
            ("executed_at", timestamp(self.executed_at)),
            ("error", text(self.error.as_ref())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn context() -> TemplateContext {
        TemplateContext {
            title: "CPU 使用率过高 - web-01".into(),
            severity: "warning".into(),
            message: "cpu_percent = 97.5 > 90.0".into(),
            metric_value: Some(97.5),
            threshold: Some(90.0),
            host_id: Some(7),
            fired_at: Some(Utc.with_ymd_and_hms(2026, 2, 21, 10, 0, 0).unwrap()),
            hostname: Some("web-01".into()),
            status: "resolved".into(),
            resolved_at: Some(Utc.with_ymd_and_hms(2026, 2, 21, 10, 12, 5).unwrap()),
            ..TemplateContext::default()
        }
    }

    fn render(source: &str) -> Result<String, TemplateError> {
        CompiledText::compile("body_template", source)?.render(&context())
    }

    #[test]
    fn renders_every_variable_the_seed_templates_use() {
        assert_eq!(
            render("{title} on {host} ({host_id}): {metric_value} > {threshold} at {fired_at}, {status} after {duration}").unwrap(),
            "CPU 使用率过高 - web-01 on web-01 (7): 97.5 > 90.0 at 2026-02-21 10:00:00, resolved after 12m 5s"
        );
        // Null values render as "", like the original.
        assert_eq!(
            render("[{service}][{runbook}][{alert_id}]").unwrap(),
            "[][][]"
        );
        // Every advertised variable is accepted.
        let all: String = VARIABLES.iter().map(|name| format!("{{{name}}}")).collect();
        assert!(render(&all).is_ok());
    }

    #[test]
    fn literal_braces_and_jinja_lookalikes_stay_literal() {
        assert_eq!(
            render("{{\"a\": \"{severity}\"}} {{% if %}} {{{{ x }}}} {{#c#}}\n").unwrap(),
            "{\"a\": \"warning\"} {% if %} {{ x }} {#c#}\n"
        );
        assert_eq!(
            render("{{% endraw %}}{title}{{%").unwrap(),
            "{% endraw %}CPU 使用率过高 - web-01{%"
        );
    }

    #[test]
    fn refuses_unknown_variables_naming_the_field() {
        let error =
            NotificationTemplate::compile(Some("[{severty}] {title}"), "{title}").unwrap_err();
        assert_eq!(
            error,
            TemplateError::UnknownVariable {
                field: "subject_template",
                name: "severty".into()
            }
        );
        assert!(
            error
                .to_string()
                .starts_with("`subject_template`: unknown variable `severty`")
        );
    }

    #[test]
    fn refuses_unbalanced_braces_and_format_specs() {
        assert_eq!(
            render("x {title").unwrap_err(),
            TemplateError::UnbalancedBrace {
                field: "body_template",
                brace: '{',
                position: 2
            }
        );
        assert_eq!(
            render("x } y").unwrap_err(),
            TemplateError::UnbalancedBrace {
                field: "body_template",
                brace: '}',
                position: 2
            }
        );
        for spec in [
            "{metric_value:.1f}",
            "{title!r}",
            "{0}",
            "{}",
            "{host.name}",
        ] {
            assert!(
                matches!(
                    render(spec),
                    Err(TemplateError::UnsupportedPlaceholder { .. })
                ),
                "{spec}"
            );
        }
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(5), "5s");
        assert_eq!(format_duration(725), "12m 5s");
        assert_eq!(format_duration(3 * 3600 + 7), "3h 0m 7s");
        assert_eq!(format_duration(2 * 86_400 + 3600), "2d 1h 0m 0s");
    }
}
