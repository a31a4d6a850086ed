//! `login`, `logout`, `whoami`, `health`, and how errors and usage mistakes exit.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};

#[test]
fn login_stores_a_private_token_that_whoami_uses_until_logout() {
    let server = TestServer::start();
    server.register_admin();

    let login = server.vigilops_with(
        &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
        Some(&format!("{ADMIN_PASSWORD}\n")),
        &[],
    );
    assert_eq!(login.success(), "", "login prints no data");
    assert!(login.stderr.contains("Logged in"), "{login:#?}");

    let path = server.credentials_path();
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entry = &stored["servers"][server.url.as_str()];
    assert_eq!(entry["email"], ADMIN_EMAIL);
    assert!(entry["access_token"].as_str().unwrap().len() > 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "credentials must be private");
    }

    let whoami = server.vigilops(&["whoami"]);
    let table = whoami.success();
    assert!(table.contains(ADMIN_EMAIL), "{whoami:#?}");
    assert!(
        table.contains("role:") && table.contains("admin"),
        "{whoami:#?}"
    );
    assert!(
        !table.contains('\x1b'),
        "no colour under NO_COLOR or into a pipe"
    );

    let user = server.vigilops(&["whoami", "--output", "json"]).json();
    assert_eq!(user["email"], ADMIN_EMAIL);
    assert_eq!(user["role"], "admin");

    let logout = server.vigilops(&["logout"]);
    assert_eq!(logout.success(), "");
    let whoami = server.vigilops(&["whoami"]);
    assert_eq!(whoami.code, 1, "{whoami:#?}");
    assert!(whoami.stderr.contains("not logged in"), "{whoami:#?}");
}

#[test]
fn a_wrong_password_exits_1_with_the_servers_detail() {
    let server = TestServer::start();
    server.register_admin();

    let login = server.vigilops_with(
        &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
        Some("not-the-password\n"),
        &[],
    );
    assert_eq!(login.code, 1, "{login:#?}");
    assert_eq!(login.stdout, "");
    assert!(login.stderr.contains("Invalid credentials"), "{login:#?}");
    assert!(!server.credentials_path().exists(), "nothing is stored");
}

#[test]
fn login_without_a_terminal_needs_password_stdin() {
    let server = TestServer::start();
    let login = server.vigilops_with(
        &["login", "--email", ADMIN_EMAIL],
        Some(ADMIN_PASSWORD),
        &[],
    );
    assert_eq!(login.code, 1, "{login:#?}");
    assert!(login.stderr.contains("--password-stdin"), "{login:#?}");
}

#[test]
fn vigilops_token_wins_over_the_stored_login() {
    let server = TestServer::start();
    server.register_admin();
    server
        .vigilops_with(
            &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
            Some(ADMIN_PASSWORD),
            &[],
        )
        .success();

    let whoami = server.vigilops_as("not-a-jwt", &["whoami"]);
    assert_eq!(whoami.code, 1, "{whoami:#?}");
    assert!(whoami.stderr.contains("401"), "{whoami:#?}");
    assert!(
        whoami.stderr.contains("vigilops login"),
        "a hint: {whoami:#?}"
    );
}

#[test]
fn a_token_is_only_sent_to_the_server_that_issued_it() {
    let server = TestServer::start();
    server.register_admin();
    server
        .vigilops_with(
            &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
            Some(ADMIN_PASSWORD),
            &[],
        )
        .success();

    let elsewhere = server.vigilops(&["--server", "http://127.0.0.1:9", "whoami"]);
    assert_eq!(elsewhere.code, 1, "{elsewhere:#?}");
    assert!(
        elsewhere
            .stderr
            .contains("not logged in to http://127.0.0.1:9"),
        "{elsewhere:#?}"
    );
}

#[test]
fn health_reports_the_server_checks() {
    let server = TestServer::start();
    let health = server.vigilops(&["health", "-o", "json"]).json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["checks"]["database"], "ok");
    let table = server.vigilops(&["health"]);
    assert!(table.success().starts_with("status:"), "{table:#?}");
}

#[test]
fn usage_mistakes_exit_2_and_unreachable_servers_exit_1() {
    let server = TestServer::start();
    for args in [
        &["hosts", "show", "web-1"][..],
        &["login"],
        &["hosts", "list", "--page-size", "1000"],
        &["frobnicate"],
    ] {
        let run = server.vigilops_as("token", args);
        assert_eq!(run.code, 2, "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "");
    }

    let unreachable = server.vigilops(&["--server", "http://127.0.0.1:9", "health"]);
    assert_eq!(unreachable.code, 1, "{unreachable:#?}");
    assert!(
        unreachable.stderr.starts_with("error: "),
        "{unreachable:#?}"
    );
}
