//! Users: first user admin, registration closing, login throttle, token kinds and expiry,
//! roles on routes, and the audit trail.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

fn credentials(email: &str, password: &str) -> Option<serde_json::Value> {
    Some(json!({"email": email, "password": password}))
}

async fn first_user_is_admin_and_registration_closes(app: &TestApp) {
    let admin = app.register("Admin@Example.com").await;
    let me = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["role"], "admin");
    assert_eq!(
        me.body["email"], "admin@example.com",
        "emails are normalised"
    );
    assert!(me.body.get("password_hash").is_none());
    let second = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "x@example.com", "name": "X", "password": "correct-horse"})),
        )
        .await;
    assert_eq!(
        (second.status, &second.body),
        (
            StatusCode::FORBIDDEN,
            &json!({"detail": "Registration is disabled"})
        )
    );
}
on_both_backends!(first_user_is_admin_and_registration_closes);

async fn open_registration_makes_viewers(app: &TestApp) {
    let admin = app.register("admin@example.com").await;
    let viewer = app.register("viewer@example.com").await;
    let me = app
        .call("GET", "/api/v1/auth/me", Some(&viewer), None)
        .await;
    assert_eq!(me.body["role"], "viewer");
    let duplicate = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "VIEWER@example.com", "name": "V", "password": "correct-horse"})),
        )
        .await;
    assert_eq!(
        (duplicate.status, &duplicate.body),
        (
            StatusCode::CONFLICT,
            &json!({"detail": "Email already registered"})
        )
    );
    // Viewers read but may not administer.
    assert_eq!(
        app.call("GET", "/api/v1/hosts", Some(&viewer), None)
            .await
            .status,
        StatusCode::OK
    );
    for (method, path, body) in [
        ("POST", "/api/v1/agent-tokens", Some(json!({"name": "x"}))),
        ("GET", "/api/v1/agent-tokens", None),
        ("DELETE", "/api/v1/agent-tokens/1", None),
        ("DELETE", "/api/v1/hosts/1", None),
        ("GET", "/api/v1/audit-logs", None),
    ] {
        let reply = app.call(method, path, Some(&viewer), body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(reply.body, json!({"detail": "Insufficient permissions"}));
    }
    assert_eq!(
        app.call("GET", "/api/v1/agent-tokens", Some(&admin), None)
            .await
            .status,
        StatusCode::OK
    );
}
on_both_backends!(
    open_registration_makes_viewers,
    &[("ALLOW_REGISTRATION", "true")]
);

async fn login_refresh_and_expiry(app: &TestApp) {
    app.register("admin@example.com").await;
    let bad = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            credentials("admin@example.com", "wrong-password"),
        )
        .await;
    assert_eq!(
        (bad.status, &bad.body),
        (
            StatusCode::UNAUTHORIZED,
            &json!({"detail": "Invalid credentials"})
        )
    );
    let unknown = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            credentials("nobody@example.com", "correct-horse"),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            credentials("ADMIN@example.com", "correct-horse"),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["token_type"], "bearer");
    let cookie = login.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("vigilops_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
    );
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

    // Token kinds are not interchangeable.
    let refresh_as_access = app
        .call("GET", "/api/v1/auth/me", Some(&refresh), None)
        .await;
    assert_eq!(
        (refresh_as_access.status, &refresh_as_access.body),
        (
            StatusCode::UNAUTHORIZED,
            &json!({"detail": "Invalid token"})
        )
    );
    let access_as_refresh = app
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": access})),
        )
        .await;
    assert_eq!(
        (access_as_refresh.status, &access_as_refresh.body),
        (
            StatusCode::UNAUTHORIZED,
            &json!({"detail": "Invalid refresh token"})
        )
    );

    // Access tokens expire after 120 minutes; the refresh token still works.
    app.advance(Duration::minutes(121));
    let expired = app
        .call("GET", "/api/v1/auth/me", Some(&access), None)
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.headers.get("www-authenticate").unwrap(), "Bearer");
    let renewed = app
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK);
    let fresh = renewed.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(fresh), None)
            .await
            .status,
        StatusCode::OK
    );

    // No header at all is 403, as FastAPI's HTTPBearer answers.
    let anonymous = app.call("GET", "/api/v1/hosts", None, None).await;
    assert_eq!(
        (anonymous.status, &anonymous.body),
        (
            StatusCode::FORBIDDEN,
            &json!({"detail": "Not authenticated"})
        )
    );

    // Login and registration are audited.
    let audit = app
        .call("GET", "/api/v1/audit-logs?action=login", Some(fresh), None)
        .await;
    assert_eq!(audit.status, StatusCode::OK);
    assert_eq!(audit.body["total"], 1);
}
on_both_backends!(login_refresh_and_expiry);

async fn login_is_throttled(app: &TestApp) {
    app.register("admin@example.com").await;
    for _ in 0..5 {
        let reply = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                credentials("admin@example.com", "wrong-password"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            credentials("admin@example.com", "correct-horse"),
        )
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        blocked.body,
        json!({"detail": "Too many attempts. Please try again in 5 minutes."})
    );
    app.advance(Duration::seconds(301));
    let allowed = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            credentials("admin@example.com", "correct-horse"),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
}
on_both_backends!(login_is_throttled);

async fn agent_tokens_are_shown_once_and_audited(app: &TestApp) {
    let admin = app.register("admin@example.com").await;
    let created = app
        .call(
            "POST",
            "/api/v1/agent-tokens",
            Some(&admin),
            Some(json!({"name": "prod"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap();
    assert!(token.starts_with("vop_") && token.len() == 52);
    assert_eq!(created.body["token_prefix"], &token[..8]);
    let listed = app
        .call("GET", "/api/v1/agent-tokens", Some(&admin), None)
        .await;
    assert!(
        !listed.body.to_string().contains(token),
        "plaintext never shown again"
    );
    // The token is stored only as a hash.
    let stored = app.state.store.list_agent_tokens().await.unwrap();
    assert!(
        stored
            .iter()
            .all(|row| row.token_hash != token && !row.token_hash.contains(&token[4..]))
    );
    let empty = app
        .call(
            "POST",
            "/api/v1/agent-tokens",
            Some(&admin),
            Some(json!({"name": "  "})),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = app
        .call(
            "GET",
            "/api/v1/audit-logs?resource_type=agent_token",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit.body["total"], 1);
    assert_eq!(audit.body["items"][0]["action"], "create_agent_token");
    assert!(
        !audit.body.to_string().contains(token),
        "the audit trail never holds the secret"
    );
}
on_both_backends!(agent_tokens_are_shown_once_and_audited);
