//! Email (§7.5): SMTP with implicit TLS, mandatory STARTTLS or (local relays only) none; a
//! `multipart/alternative` message with a text part and an HTML part.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{
    Channel, ChannelKind, ConfigError, EmailConfig, Notification, NotificationKind, Outcome,
    SmtpSecurity,
};

/// How long lettre waits for each SMTP reply; the sender's per-attempt timeout bounds the whole.
const SMTP_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The subject: the message's own, else `[VigilOps 告警] {severity} - {title}` (§7.5), and for
/// a recovery `[VigilOps 已恢复] …`, so a resolved alert never reads like a fired one in an inbox
/// (§8.8).
pub fn subject(message: &Notification) -> String {
    message.subject.clone().unwrap_or_else(|| {
        let tag = match message.kind {
            NotificationKind::Resolved => "已恢复",
            NotificationKind::Firing | NotificationKind::Info => "告警",
        };
        format!(
            "[VigilOps {tag}] {} - {}",
            message.severity.as_str(),
            message.title
        )
    })
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML part: the title, the text body and a table of the fields, every value escaped.
pub fn html(message: &Notification) -> String {
    let mut rows = String::new();
    for field in &message.fields {
        rows.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            escape_html(&field.name),
            escape_html(&field.value)
        ));
    }
    let mut links = String::new();
    for link in &message.links {
        links.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape_html(&link.url),
            escape_html(&link.label)
        ));
    }
    format!(
        "<!DOCTYPE html><html><body><h2>{}</h2><p style=\"white-space:pre-wrap\">{}</p>\
         <table border=\"1\" cellpadding=\"6\" cellspacing=\"0\">{rows}</table>{links}</body></html>",
        escape_html(&message.display_title()),
        escape_html(&message.text),
    )
}

/// An SMTP mailer.
pub struct EmailChannel {
    config: EmailConfig,
    from: Mailbox,
    recipients: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config's Debug masks the password.
        f.debug_struct("EmailChannel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// A mailer from its config; refuses malformed addresses.
    pub fn new(config: EmailConfig) -> Result<Self, ConfigError> {
        let from =
            config
                .from_address()
                .parse::<Mailbox>()
                .map_err(|error| ConfigError::Field {
                    field: if config.from.is_some() {
                        "from"
                    } else {
                        "smtp_user"
                    },
                    reason: error.to_string(),
                })?;
        let recipients = config
            .recipients
            .iter()
            .map(|address| {
                address
                    .parse::<Mailbox>()
                    .map_err(|error| ConfigError::Field {
                        field: "recipients",
                        reason: format!("`{address}`: {error}"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let host = config.smtp_host.as_str();
        let smtp_error = |error: lettre::transport::smtp::Error| ConfigError::Field {
            field: "smtp_host",
            reason: error.to_string(),
        };
        let builder = match config.security() {
            SmtpSecurity::ImplicitTls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(smtp_error)?
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(smtp_error)?
            }
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(SMTP_COMMAND_TIMEOUT));
        if !config.smtp_user.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.smtp_user.clone(),
                config.smtp_password.clone(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            recipients,
            config,
        })
    }

    fn message(&self, message: &Notification) -> Result<Message, lettre::error::Error> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(message));
        for recipient in &self.recipients {
            builder = builder.to(recipient.clone());
        }
        builder.multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(message.full_text()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html(message)),
                ),
        )
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    async fn send(&self, message: &Notification) -> Outcome {
        if self.recipients.is_empty() {
            // The original sends nothing to an empty list; there is nobody to fail for.
            return Outcome::Delivered { response_code: 200 };
        }
        let email = match self.message(message) {
            Ok(email) => email,
            Err(error) => {
                return Outcome::Rejected {
                    response_code: None,
                    platform_code: None,
                    message: format!("cannot build the message: {error}"),
                };
            }
        };
        match self.transport.send(email).await {
            Ok(_response) => Outcome::Delivered { response_code: 200 },
            Err(error) => classify(&error),
        }
    }
}

/// A 5xx reply is permanent (bad recipient, auth refused), and so is a client error such as a
/// server that does not offer the mandatory STARTTLS; a 4xx reply, a dropped connection or a TLS
/// failure to a server that may come back is transient.
fn classify(error: &lettre::transport::smtp::Error) -> Outcome {
    let code = error
        .status()
        .and_then(|code| code.to_string().parse::<u16>().ok());
    let message = super::http::truncate(&error.to_string());
    if error.is_timeout() {
        Outcome::TimedOut
    } else if error.is_permanent() || error.is_client() {
        Outcome::Rejected {
            response_code: code,
            platform_code: code.map(i64::from),
            message,
        }
    } else {
        Outcome::Transient {
            response_code: code,
            message,
        }
    }
}
