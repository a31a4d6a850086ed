//! Every route of the REST contract (`tests/fixtures/protocol/rest-api.md`, a copy of
//! `shared/protocol/rest-api.md`), walked with a role that must be refused and with the role
//! the contract names: the route exists in our OpenAPI document, the weaker role gets 403 and
//! changes nothing, and the right role is let through (whatever the answer to an unknown id or
//! an empty body, never 401, 403 or a 5xx).
//!
//! The routes and roles are read from the contract's tables, so a route added there is walked
//! without touching this file.

use axum::http::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

const CONTRACT: &str = include_str!("../fixtures/protocol/rest-api.md");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    /// `V`, `O`, `A` or `A (orig.)`, followed by anything.
    fn parse(text: &str) -> Option<Self> {
        let letters: String = text
            .trim()
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        match letters.as_str() {
            "V" => Some(Self::Viewer),
            "O" => Some(Self::Operator),
            "A" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// How a section assigns roles.
#[derive(Debug, Clone, Copy)]
enum SectionRole {
    /// One role for every route.
    All(Role),
    /// `read X, write Y`: GET needs the first.
    ReadWrite(Role, Role),
    /// A `Role` column in the table.
    Column,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    method: String,
    /// With `{…}` parameters and without the query.
    path: String,
    /// A query string the contract puts in the path (`?alert_id=N`).
    query: Option<String>,
    role: Role,
}

/// The section's role rule from its heading: `(Role V)`, `(Role A, A (orig.))`,
/// `(read V, write O)`; a table with a Role column decides per row.
fn section_role(heading: &str) -> Option<SectionRole> {
    let (_, rest) = heading.split_once("(Role ")?;
    Role::parse(rest).map(SectionRole::All)
}

fn read_write(heading: &str) -> Option<SectionRole> {
    let (_, rest) = heading.split_once("(read ")?;
    let (read, write) = rest.split_once(", write ")?;
    Some(SectionRole::ReadWrite(
        Role::parse(read)?,
        Role::parse(write)?,
    ))
}

/// The base path of a section: the first back-quoted `/api/…` of its heading, or of a line
/// `` `/api/v1/…`: `` just before a table.
fn back_quoted_api(line: &str) -> Option<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(|quoted| quoted.trim_start_matches("GET ").trim())
        .find(|quoted| quoted.starts_with("/api/"))
        .map(str::to_owned)
}

/// Every route of the contract's tables (and the single-route headings), with its role.
fn contract_routes() -> Vec<Route> {
    let mut routes = Vec::new();
    let mut base: Option<String> = None;
    let mut rule: Option<SectionRole> = None;
    let mut role_column = false;
    for line in CONTRACT.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            base = back_quoted_api(heading);
            rule = read_write(heading).or_else(|| section_role(heading));
            role_column = false;
            // `## 16. Audit logs: `GET /api/v1/audit-logs` (Role A, …)`: one route.
            if let (Some(path), Some(SectionRole::All(role))) = (&base, rule)
                && heading.contains("`GET ")
            {
                routes.push(Route {
                    method: "GET".into(),
                    path: path.clone(),
                    query: None,
                    role,
                });
            }
            continue;
        }
        if line.starts_with('`') && line.trim_end().ends_with("`:") {
            base = back_quoted_api(line);
            continue;
        }
        if line.starts_with("| Method |") {
            role_column = line.contains("| Role |");
            if role_column {
                rule = Some(SectionRole::Column);
            }
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| GET | `/{id}` | … |` → ["", "GET", "`/{id}`", …, ""]
        if cells.len() < 4 || !["GET", "POST", "PUT", "DELETE"].contains(&cells[1]) {
            continue;
        }
        let (Some(base), Some(rule)) = (&base, rule) else {
            continue;
        };
        let suffix = cells[2].trim_matches('`');
        let (suffix, query) = match suffix.split_once('?') {
            Some((path, query)) => (path, Some(query.replace('N', "999999"))),
            None => (suffix, None),
        };
        let method = cells[1].to_owned();
        // A row may name its own role: `(Role V, per user)`.
        let row_role = line
            .split_once("(Role ")
            .and_then(|(_, rest)| Role::parse(rest));
        let role = match (rule, row_role) {
            (_, Some(role)) => role,
            (SectionRole::All(role), None) => role,
            (SectionRole::ReadWrite(read, write), None) => {
                if method == "GET" {
                    read
                } else {
                    write
                }
            }
            (SectionRole::Column, None) => {
                let last = cells[cells.len() - 2];
                assert!(role_column, "a role column without header: {line}");
                Role::parse(last).unwrap_or_else(|| panic!("no role in {line}"))
            }
        };
        routes.push(Route {
            method,
            path: format!("{base}{suffix}"),
            query,
            role,
        });
    }
    routes
}

/// The routes §20 lists in prose (the `servers` and `server-groups` resources).
fn prose_routes() -> Vec<Route> {
    let route = |method: &str, path: &str, role| Route {
        method: method.into(),
        path: path.into(),
        query: None,
        role,
    };
    vec![
        route("GET", "/api/v1/servers", Role::Viewer),
        route("GET", "/api/v1/servers/{id}", Role::Viewer),
        route("POST", "/api/v1/servers", Role::Operator),
        route("PUT", "/api/v1/servers/{id}", Role::Operator),
        route("DELETE", "/api/v1/servers/{id}", Role::Operator),
        route("GET", "/api/v1/server-groups", Role::Viewer),
        route("GET", "/api/v1/server-groups/{id}", Role::Viewer),
        route("POST", "/api/v1/server-groups", Role::Operator),
        route("PUT", "/api/v1/server-groups/{id}", Role::Operator),
        route("DELETE", "/api/v1/server-groups/{id}", Role::Operator),
        route("POST", "/api/v1/server-groups/{id}/servers", Role::Operator),
        route(
            "DELETE",
            "/api/v1/server-groups/{id}/servers/{server_id}",
            Role::Operator,
        ),
    ]
}

#[test]
fn the_contract_is_read_whole() {
    let routes = contract_routes();
    let find = |method: &str, path: &str| {
        routes
            .iter()
            .find(|route| route.method == method && route.path == path)
            .map(|route| route.role)
    };
    assert_eq!(
        find("GET", "/api/v1/hosts/{id}/metrics"),
        Some(Role::Viewer)
    );
    assert_eq!(
        find("DELETE", "/api/v1/alert-rules/{id}"),
        Some(Role::Operator)
    );
    assert_eq!(find("GET", "/api/v1/alert-rules"), Some(Role::Viewer));
    assert_eq!(
        find("GET", "/api/v1/notification-channels/logs"),
        Some(Role::Operator)
    );
    assert_eq!(find("PUT", "/api/v1/settings"), Some(Role::Admin));
    assert_eq!(find("GET", "/api/v1/settings"), Some(Role::Viewer));
    assert_eq!(find("DELETE", "/api/v1/reports/{id}"), Some(Role::Admin));
    assert_eq!(find("POST", "/api/v1/sla/rules"), Some(Role::Operator));
    assert_eq!(find("POST", "/api/v1/topology/layout"), Some(Role::Viewer));
    assert_eq!(
        find("POST", "/api/v1/topology/servers"),
        Some(Role::Operator)
    );
    assert_eq!(find("GET", "/api/v1/audit-logs"), Some(Role::Admin));
    assert_eq!(
        find("PUT", "/api/v1/users/{id}/password"),
        Some(Role::Admin)
    );
    assert!(
        routes.len() >= 75,
        "{} routes read from the contract",
        routes.len()
    );
}

/// Contract routes whose documented answer to a well-formed call is a 5xx.
fn documented_5xx(method: &str, path: &str) -> bool {
    // "An LLM failure gives 502; no API key gives 500."
    method == "POST" && path == "/api/v1/topology/ai-suggest"
}

async fn every_contract_route_is_there_and_enforces_its_role(app: &TestApp) {
    let admin = app.register("admin@example.com").await;
    let operator = app.user_with_role(&admin, "operator").await;
    let viewer = app.user_with_role(&admin, "viewer").await;
    let openapi = app.call("GET", "/api/openapi.json", None, None).await.body;
    let paths = openapi["paths"].as_object().unwrap();

    let mut walked = 0;
    for route in contract_routes().into_iter().chain(prose_routes()) {
        // Auth is public by design (register/login/refresh); `me` is any logged-in user.
        if route.path.starts_with("/api/v1/auth/") && route.path != "/api/v1/auth/me" {
            continue;
        }
        let method = route.method.to_lowercase();
        assert!(
            paths
                .get(&route.path)
                .and_then(|item| item.get(&method))
                .is_some(),
            "{} {} is in the contract but not served",
            route.method,
            route.path
        );
        let mut uri = route
            .path
            .replace("{id}", "999999")
            .replace("{server_id}", "999999");
        if let Some(query) = &route.query {
            uri = format!("{uri}?{query}");
        }
        let body = (route.method == "POST" || route.method == "PUT").then(|| json!({}));
        let (weaker, allowed) = match route.role {
            Role::Viewer => (None, &viewer),
            Role::Operator => (Some(&viewer), &operator),
            Role::Admin => (Some(&operator), &admin),
        };
        let refused = app
            .call(
                &route.method,
                &uri,
                weaker.map(String::as_str),
                body.clone(),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{} {uri} must refuse {}: {:?}",
            route.method,
            if weaker.is_some() {
                "a weaker role"
            } else {
                "an anonymous call"
            },
            refused.body
        );
        let answered = app.call(&route.method, &uri, Some(allowed), body).await;
        let status = answered.status;
        assert!(
            status != StatusCode::UNAUTHORIZED
                && status != StatusCode::FORBIDDEN
                && status != StatusCode::METHOD_NOT_ALLOWED
                && (!status.is_server_error() || documented_5xx(&route.method, &route.path)),
            "{} {uri} as {:?}: {status} {:?}",
            route.method,
            route.role,
            answered.body
        );
        walked += 1;
    }
    assert!(walked >= 85, "walked {walked} routes");
}
on_both_backends!(every_contract_route_is_there_and_enforces_its_role);
