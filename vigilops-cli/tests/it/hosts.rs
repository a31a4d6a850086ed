//! `hosts list|show|metrics`.

use crate::support::TestServer;

#[test]
fn hosts_reported_by_agents_are_listed_as_json_and_as_a_table() {
    let server = TestServer::start();
    let admin = server.register_admin();
    let agent = server.agent_token(&admin, "lab");
    let web = server.report_host(&agent, "web-1", 42.5);
    server.report_host(&agent, "db-1", 7.0);

    let page = server
        .vigilops_as(&admin, &["hosts", "list", "-o", "json"])
        .json();
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page["page"], 1);
    let mut hostnames: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| host["hostname"].as_str().unwrap())
        .collect();
    hostnames.sort_unstable();
    assert_eq!(hostnames, ["db-1", "web-1"]);

    let table = server.vigilops_as(&admin, &["hosts", "list"]);
    let lines: Vec<&str> = table.success().lines().collect();
    assert_eq!(lines.len(), 3, "header and two hosts: {table:#?}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("HOSTNAME"),
        "{table:#?}"
    );
    let web_line = lines
        .iter()
        .find(|line| line.contains("web-1"))
        .expect("web-1 listed");
    assert!(web_line.starts_with(&web.to_string()), "{web_line}");
    assert!(
        web_line.contains("online") && web_line.contains("42.5%"),
        "{web_line}"
    );
    assert!(table.stderr.contains("2 hosts in total"), "{table:#?}");

    let searched = server
        .vigilops_as(&admin, &["hosts", "list", "--search", "WEB", "-o", "json"])
        .json();
    assert_eq!(searched["total"], 1);
    assert_eq!(searched["items"][0]["hostname"], "web-1");
    let offline = server
        .vigilops_as(
            &admin,
            &["hosts", "list", "--status", "offline", "-o", "json"],
        )
        .json();
    assert_eq!(offline["total"], 0);
    let paged = server
        .vigilops_as(
            &admin,
            &[
                "hosts",
                "list",
                "--page-size",
                "1",
                "--page",
                "2",
                "-o",
                "json",
            ],
        )
        .json();
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    assert_eq!(paged["page"], 2);
}

#[test]
fn one_host_and_its_metrics() {
    let server = TestServer::start();
    let admin = server.register_admin();
    let agent = server.agent_token(&admin, "lab");
    let id = server.report_host(&agent, "web-1", 42.5).to_string();

    let shown = server.vigilops_as(&admin, &["hosts", "show", &id]);
    let text = shown.success();
    assert!(
        text.contains("hostname:") && text.contains("web-1"),
        "{shown:#?}"
    );
    assert!(text.contains("42.5%"), "latest metrics: {shown:#?}");
    let host = server
        .vigilops_as(&admin, &["hosts", "show", &id, "-o", "json"])
        .json();
    assert_eq!(host["latest_metrics"]["cpu_percent"], 42.5);

    let points = server
        .vigilops_as(
            &admin,
            &["hosts", "metrics", &id, "--hours", "2", "-o", "json"],
        )
        .json();
    assert_eq!(points.as_array().unwrap().len(), 1, "{points}");
    assert_eq!(points[0]["cpu_percent"], 42.5);
    let table = server.vigilops_as(&admin, &["hosts", "metrics", &id, "--interval", "5min"]);
    assert!(
        table.success().lines().nth(1).unwrap().contains("42.5%"),
        "{table:#?}"
    );

    let missing = server.vigilops_as(&admin, &["hosts", "show", "9999"]);
    assert_eq!(missing.code, 1, "{missing:#?}");
    assert!(missing.stderr.contains("Host not found"), "{missing:#?}");
}
