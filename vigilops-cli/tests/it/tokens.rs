//! `tokens create|list|revoke`.

use crate::support::TestServer;

#[test]
fn tokens_are_created_once_listed_and_revoked() {
    let server = TestServer::start();
    let admin = server.register_admin();

    let created = server.vigilops_as(&admin, &["tokens", "create", "lab-east"]);
    let plaintext = created.success().trim_end().to_owned();
    assert_eq!(
        created.stdout,
        format!("{plaintext}\n"),
        "only the token on stdout"
    );
    assert!(
        created.stderr.contains("only time") && created.stderr.contains(&server.url),
        "the install hint: {created:#?}"
    );
    assert!(
        !created.stderr.contains(&plaintext),
        "the hint never repeats the token"
    );
    // Not used by an agent before the revoke: the server caches accepted agent tokens for 5 s
    // per replica, so a use here would keep it working briefly after the revoke.

    let listed = server
        .vigilops_as(&admin, &["tokens", "list", "-o", "json"])
        .json();
    let tokens = listed.as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{listed}");
    assert_eq!(tokens[0]["name"], "lab-east");
    assert_eq!(tokens[0]["is_active"], true);
    assert!(
        tokens[0].get("token").is_none(),
        "the list never shows the plaintext"
    );
    let prefix = tokens[0]["token_prefix"].as_str().unwrap();
    assert!(plaintext.starts_with(prefix));
    let id = tokens[0]["id"].as_i64().unwrap().to_string();

    let table = server.vigilops_as(&admin, &["tokens", "list"]);
    let lines: Vec<&str> = table.success().lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS"),
        "{table:#?}"
    );
    assert!(
        lines[1].contains("lab-east") && lines[1].contains("active"),
        "{table:#?}"
    );
    assert!(!table.stdout.contains(&plaintext));

    let revoked = server.vigilops_as(&admin, &["tokens", "revoke", &id]);
    assert_eq!(revoked.success(), "");
    assert!(revoked.stderr.contains("Revoked"), "{revoked:#?}");
    assert!(!server.agent_token_works(&plaintext));

    let listed = server
        .vigilops_as(&admin, &["tokens", "list", "-o", "json"])
        .json();
    assert_eq!(listed[0]["is_active"], false);
    let table = server.vigilops_as(&admin, &["tokens", "list"]);
    assert!(table.success().contains("revoked"), "{table:#?}");

    let unknown = server.vigilops_as(&admin, &["tokens", "revoke", "9999"]);
    assert_eq!(unknown.code, 1, "{unknown:#?}");
    assert!(unknown.stderr.contains("Token not found"), "{unknown:#?}");
}

#[test]
fn create_with_json_output_prints_the_whole_token() {
    let server = TestServer::start();
    let admin = server.register_admin();
    let created = server
        .vigilops_as(&admin, &["--output", "json", "tokens", "create", "ci"])
        .json();
    assert_eq!(created["name"], "ci");
    assert!(server.agent_token_works(created["token"].as_str().unwrap()));
}
