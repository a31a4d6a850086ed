//! Discovery against this machine's real `/proc`: a listener this test opens on all interfaces is
//! found under this process's own name.

use std::path::Path;

use vigilops_agent::discovery::{self, CheckKind};

#[test]
fn finds_a_listener_opened_by_this_process() {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    let comm = comm.trim();

    let found = discovery::discover(Path::new("/proc")).unwrap();
    let service = found
        .services
        .iter()
        .find(|service| service.port == port)
        .unwrap_or_else(|| panic!("port {port} not discovered: {:?}", found.services));
    assert_eq!(service.process, comm);
    assert_eq!(service.name, format!("{comm} (:{port})"));
    assert!(service.pids.contains(&std::process::id()));
    let expected = discovery::check_kind(comm, port);
    assert_eq!(service.check, expected);
    match expected {
        CheckKind::Http => assert_eq!(service.target, format!("http://localhost:{port}")),
        CheckKind::Tcp => assert_eq!(service.target, format!("localhost:{port}")),
    }
    drop(listener);
}

#[test]
fn a_loopback_only_listener_is_skipped() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let found = discovery::discover(Path::new("/proc")).unwrap();
    assert!(found.services.iter().all(|service| service.port != port));
}

#[test]
fn a_connection_between_two_discovered_listeners_is_an_edge() {
    // Both ends belong to this process, so the edge would be a self-edge and is not recorded;
    // what matters is that an established socket does not confuse the service list.
    let server = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let found = discovery::discover(Path::new("/proc")).unwrap();
    assert_eq!(
        found
            .services
            .iter()
            .filter(|service| service.port == port)
            .count(),
        1
    );
    assert!(found.dependencies.iter().all(|edge| edge.from != edge.to));
}

#[test]
fn a_missing_proc_is_an_error() {
    assert!(discovery::discover(Path::new("/nonexistent-proc")).is_err());
}
