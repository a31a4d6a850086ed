//! `/api/v1/users` (admin): create with roles, list, change, deactivate, delete, reset a
//! password, and every refusal, on both backends.

use axum::http::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

async fn login(app: &TestApp, email: &str, password: &str) -> Option<String> {
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await;
    reply.body["access_token"].as_str().map(str::to_owned)
}

async fn administering_users(app: &TestApp) {
    let admin = app.register("root@example.com").await;
    let me = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    let admin_id = me.body["id"].as_i64().unwrap();

    // Create: an operator, and a viewer by default.
    let created = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(
                json!({"email": "Ops@Example.com", "name": "Ops", "password": "ops-passw0rd",
                        "role": "operator"}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["email"], "ops@example.com");
    assert_eq!(created.body["role"], "operator");
    assert!(created.body.get("password_hash").is_none());
    let ops_id = created.body["id"].as_i64().unwrap();
    let viewer = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"email": "view@example.com", "name": "View", "password": "view-passw0rd"})),
        )
        .await;
    assert_eq!(viewer.body["role"], "viewer");
    let viewer_id = viewer.body["id"].as_i64().unwrap();
    for (body, status) in [
        (
            json!({"email": "x@example.com", "name": "X", "password": "long-enough", "role": "root"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "OPS@example.com", "name": "X", "password": "long-enough"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"email": "not-an-email", "name": "X", "password": "long-enough"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"email": "y@example.com", "name": "Y", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"email": "z@example.com"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let reply = app
            .call("POST", "/api/v1/users", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(reply.status, status, "{body}: {:?}", reply.body);
    }

    // Only admins: the operator is refused, as is an anonymous caller.
    let ops = login(app, "ops@example.com", "ops-passw0rd").await.unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/users", Some(&ops), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call("GET", "/api/v1/users", None, None).await.status,
        StatusCode::FORBIDDEN
    );

    // List and read.
    let page = app
        .call(
            "GET",
            "/api/v1/users?page=1&page_size=2",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/v1/users/{ops_id}"),
            Some(&admin),
            None
        )
        .await
        .body["name"],
        "Ops"
    );
    assert_eq!(
        app.call("GET", "/api/v1/users/999999", Some(&admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Change and deactivate: the deactivated operator's token stops working.
    let changed = app
        .call(
            "PUT",
            &format!("/api/v1/users/{viewer_id}"),
            Some(&admin),
            Some(json!({"name": "Viewer Two", "role": "operator"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(
        (changed.body["name"].as_str(), changed.body["role"].as_str()),
        (Some("Viewer Two"), Some("operator"))
    );
    let off = app
        .call(
            "PUT",
            &format!("/api/v1/users/{ops_id}"),
            Some(&admin),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(off.body["is_active"], false);
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&ops), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        login(app, "ops@example.com", "ops-passw0rd")
            .await
            .is_none()
    );

    // The last active admin stays, and nobody deletes themselves.
    for body in [json!({"role": "viewer"}), json!({"is_active": false})] {
        let refused = app
            .call(
                "PUT",
                &format!("/api/v1/users/{admin_id}"),
                Some(&admin),
                Some(body),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            refused.body
        );
    }
    let own = app
        .call(
            "DELETE",
            &format!("/api/v1/users/{admin_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    let bad_role = app
        .call(
            "PUT",
            &format!("/api/v1/users/{viewer_id}"),
            Some(&admin),
            Some(json!({"role": "superuser"})),
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);

    // Password reset: validated, stored as a hash, the old one stops working.
    let short = app
        .call(
            "PUT",
            &format!("/api/v1/users/{viewer_id}/password"),
            Some(&admin),
            Some(json!({"new_password": "short"})),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reset = app
        .call(
            "PUT",
            &format!("/api/v1/users/{viewer_id}/password"),
            Some(&admin),
            Some(json!({"new_password": "brand-new-passw0rd"})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{:?}", reset.body);
    assert!(
        login(app, "view@example.com", "view-passw0rd")
            .await
            .is_none()
    );
    assert!(
        login(app, "view@example.com", "brand-new-passw0rd")
            .await
            .is_some()
    );

    // The original's demo account cannot be changed.
    let demo = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"email": "demo@vigilops.io", "name": "Demo", "password": "demo-passw0rd"})),
        )
        .await;
    let demo_id = demo.body["id"].as_i64().unwrap();
    for (method, path, body) in [
        (
            "PUT",
            format!("/api/v1/users/{demo_id}"),
            Some(json!({"name": "x"})),
        ),
        ("DELETE", format!("/api/v1/users/{demo_id}"), None),
        (
            "PUT",
            format!("/api/v1/users/{demo_id}/password"),
            Some(json!({"new_password": "another-passw0rd"})),
        ),
    ] {
        let reply = app.call(method, &path, Some(&admin), body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
    }

    // Deleted, then gone; every change audited, no password in the trail.
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/users/{ops_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/v1/users/{ops_id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let trail = app
        .call(
            "GET",
            "/api/v1/audit-logs?resource_type=user&page_size=100",
            Some(&admin),
            None,
        )
        .await;
    let text = trail.body.to_string();
    for action in [
        "create_user",
        "update_user",
        "delete_user",
        "reset_password",
    ] {
        assert!(text.contains(action), "{action}: {text}");
    }
    assert!(!text.contains("brand-new-passw0rd"));
}
on_both_backends!(administering_users);
