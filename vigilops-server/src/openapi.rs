//! The base OpenAPI document; each route adds its own path through `utoipa-axum`.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "VigilOps API",
        description = "REST API of VigilOps: agent ingestion, hosts, auth and administration. \
                       Errors are `{\"detail\": …}`; validation errors follow FastAPI's shape.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    tags(
        (name = "health", description = "Liveness of the server and its backends"),
        (name = "auth", description = "Users: register, login, refresh"),
        (name = "agent", description = "The agent protocol (agent token)"),
        (name = "agent-tokens", description = "Agent token administration (admin)"),
        (name = "hosts", description = "Monitored hosts and their metrics"),
        (name = "commands", description = "Diagnostic commands run on hosts by their agents (operator)"),
        (name = "audit", description = "Audit trail (admin)"),
        (name = "alert-rules", description = "Alert rules (read: viewer, write: operator)"),
        (name = "alerts", description = "Alerts, their timeline, acknowledge and resolve"),
        (name = "notification-channels", description = "Notification channels, test sends and the notification log (operator)"),
        (name = "notification-templates", description = "Notification templates (admin)"),
        (name = "silences", description = "Silences and recurring maintenance windows (operator)"),
        (name = "ai", description = "Root cause, log analysis, ops chat, insights and the ops memory"),
        (name = "remediations", description = "Auto-remediation: runs, approvals, runbooks and safety switches"),
        (name = "users", description = "User administration (admin)"),
        (name = "settings", description = "Operator-tunable settings (read: viewer, write: admin)"),
        (name = "dashboard", description = "Dashboard figures (viewer)"),
        (name = "databases", description = "Monitored databases and their metrics (viewer)"),
        (name = "services", description = "Monitored services, their checks and uptime (viewer)"),
        (name = "logs", description = "Log search, statistics and the live stream (viewer)"),
        (name = "sla", description = "SLA rules, time-based availability, violations and reports (read: viewer, write: operator)"),
        (name = "reports", description = "Daily and weekly reports (read: viewer, generate: operator, delete: admin)"),
        (name = "topology", description = "Service graph, layouts, dependencies and the multi-server view (read: viewer, write: operator)"),
        (name = "servers", description = "Hand-kept servers linked to agent hosts (read: viewer, write: operator)"),
        (name = "server-groups", description = "Server groups and their members (read: viewer, write: operator)")
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "agent_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document the routes are added to.
pub(crate) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
