//! The topology's part of the story: stored dependencies (unique per pair, unknown services
//! refused), per-user layouts, servers linked to agent hosts by hostname (also when the host
//! registers later), server groups and memberships with their figures and cascades.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::super::{Store, StoreError};
use crate::model::{
    HostRegistration, NewGroupMember, NewServer, NewServerGroup, NewServiceDependency, Page, Role,
    ServiceRegistration,
};

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2032, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every topology behaviour on a store that may already hold other data (but no stored
/// dependencies, layouts, servers or server groups).
pub(super) async fn run(store: &dyn Store) {
    let token = store
        .create_agent_token("topology", "topology-hash", "vop_topo", None, base())
        .await
        .unwrap();
    let host = register_host(store, token.id, "topo-app").await;
    dependencies(store, host).await;
    layouts(store).await;
    servers_and_groups(store, token.id, host).await;
}

async fn register_host(store: &dyn Store, token: i64, hostname: &str) -> i64 {
    let registration = HostRegistration {
        hostname: hostname.to_owned(),
        ..HostRegistration::default()
    };
    store
        .register_host(token, registration, base())
        .await
        .unwrap()
        .0
        .id
}

fn server(hostname: &str) -> NewServer {
    NewServer {
        hostname: hostname.to_owned(),
        ip_address: Some("10.1.0.1".to_owned()),
        label: None,
        tags: Some(json!(["prod"])),
        is_simulated: false,
    }
}

async fn dependencies(store: &dyn Store, host: i64) {
    let register = |name: &str| ServiceRegistration {
        host_id: host,
        name: name.to_owned(),
        target: "localhost:1".to_owned(),
        check_type: "tcp".to_owned(),
        check_interval: 60,
        timeout: 10,
        category: "business".to_owned(),
    };
    let (api, _) = store
        .register_service(register("topo-api"), base())
        .await
        .unwrap();
    let (db, _) = store
        .register_service(register("topo-postgres"), base())
        .await
        .unwrap();
    let services = store.topology_services().await.unwrap();
    let api_row = services.iter().find(|row| row.id == api).unwrap();
    assert_eq!(api_row.hostname.as_deref(), Some("topo-app"));
    assert_eq!(api_row.host_id, Some(host));
    assert_eq!(api_row.status, "unknown");

    let new = |source: i64, target: i64| NewServiceDependency {
        source_service_id: source,
        target_service_id: target,
        dependency_type: "depends_on".to_owned(),
        description: Some("orders".to_owned()),
        origin: "manual".to_owned(),
    };
    let stored = store
        .create_service_dependency(new(api, db), base())
        .await
        .unwrap();
    assert_eq!(
        (stored.source_service_id, stored.target_service_id),
        (api, db)
    );
    assert_eq!(stored.origin, "manual");
    assert_eq!(stored.created_at, base());
    assert!(matches!(
        store.create_service_dependency(new(api, db), base()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_service_dependency(new(api, 999_999), base())
            .await,
        Err(StoreError::NotFound("service"))
    ));
    let reverse = store
        .create_service_dependency(new(db, api), base())
        .await
        .unwrap();
    assert_eq!(
        store
            .service_dependencies()
            .await
            .unwrap()
            .iter()
            .map(|dependency| dependency.id)
            .collect::<Vec<_>>(),
        vec![stored.id, reverse.id]
    );
    store.delete_service_dependency(reverse.id).await.unwrap();
    assert!(matches!(
        store.delete_service_dependency(reverse.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.delete_all_service_dependencies().await.unwrap(), 1);
    assert!(store.service_dependencies().await.unwrap().is_empty());
}

async fn layouts(store: &dyn Store) {
    let user = |email: &str| crate::model::NewUser {
        email: email.to_owned(),
        name: "topology".to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role: Role::Viewer,
    };
    let mine = store
        .create_user(user("topo-mine@example.com"), base())
        .await
        .unwrap()
        .id;
    let theirs = store
        .create_user(user("topo-theirs@example.com"), base())
        .await
        .unwrap()
        .id;
    let first = json!({"1": {"x": 1.5, "y": 2.0}});
    let second = json!({"1": {"x": 3.0, "y": 4.0}, "2": {"x": 0.0, "y": 0.0}});
    store
        .save_topology_layout(mine, "default", &first, base())
        .await
        .unwrap();
    store
        .save_topology_layout(mine, "default", &second, base() + Duration::seconds(1))
        .await
        .unwrap();
    store
        .save_topology_layout(mine, "wide", &first, base())
        .await
        .unwrap();
    assert_eq!(
        store.topology_layout(mine, "default").await.unwrap(),
        Some(second)
    );
    assert_eq!(
        store.topology_layout(theirs, "default").await.unwrap(),
        None
    );
    assert_eq!(store.delete_topology_layouts(theirs).await.unwrap(), 0);
    assert_eq!(store.delete_topology_layouts(mine).await.unwrap(), 2);
    assert_eq!(store.topology_layout(mine, "wide").await.unwrap(), None);
}

async fn servers_and_groups(store: &dyn Store, token: i64, host: i64) {
    let linked = store
        .create_server(server("topo-app"), base())
        .await
        .unwrap();
    assert_eq!(linked.host_id, Some(host));
    assert_eq!(linked.status, "online", "the linked host's status");
    assert_eq!(linked.tags, Some(json!(["prod"])));
    assert!(matches!(
        store.create_server(server("topo-app"), base()).await,
        Err(StoreError::Conflict(_))
    ));
    let later = store
        .create_server(server("topo-later"), base())
        .await
        .unwrap();
    assert_eq!(later.host_id, None);
    assert_eq!(later.status, "unknown");
    let later_host = register_host(store, token, "topo-later").await;
    let summary = store.server_summary(later.id).await.unwrap().unwrap();
    assert_eq!(
        summary.server.host_id,
        Some(later_host),
        "linked once it registers"
    );
    assert_eq!(summary.server.last_seen, Some(base()));

    let mut renamed = server("topo-renamed");
    renamed.label = Some("edge".to_owned());
    let updated = store
        .update_server(later.id, renamed, base() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(updated.hostname, "topo-renamed");
    assert_eq!(updated.host_id, None);
    assert_eq!(updated.label.as_deref(), Some("edge"));
    assert_eq!(updated.updated_at, base() + Duration::minutes(1));
    assert!(matches!(
        store.update_server(999_999, server("x"), base()).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .update_server(later.id, server("topo-app"), base())
            .await,
        Err(StoreError::Conflict(_))
    ));

    let group = store
        .create_server_group(
            NewServerGroup {
                name: "topo-nginx".to_owned(),
                category: Some("infrastructure".to_owned()),
            },
            base(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_server_group(
                NewServerGroup {
                    name: "topo-nginx".to_owned(),
                    category: None,
                },
                base(),
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let member = |server_id: i64, group_id: i64, cpu: f64| NewGroupMember {
        server_id,
        group_id,
        port: Some(80),
        pid: None,
        status: "running".to_owned(),
        cpu_percent: cpu,
        mem_mb: 64.0,
    };
    let added = store
        .add_group_member(member(linked.id, group.id, 10.0), base())
        .await
        .unwrap();
    assert_eq!(added.hostname, "topo-app");
    assert_eq!(added.group_name, "topo-nginx");
    assert_eq!(added.server_status, "online");
    store
        .add_group_member(member(later.id, group.id, 30.0), base())
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_group_member(member(linked.id, group.id, 1.0), base())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_group_member(member(999_999, group.id, 1.0), base())
            .await,
        Err(StoreError::NotFound("server"))
    ));
    assert!(matches!(
        store
            .add_group_member(member(linked.id, 999_999, 1.0), base())
            .await,
        Err(StoreError::NotFound("server group"))
    ));
    let summary = store.server_summary(linked.id).await.unwrap().unwrap();
    assert_eq!(summary.service_count, 1);
    assert_eq!(summary.cpu_avg, Some(10.0));
    assert_eq!(summary.mem_avg, Some(64.0));
    assert_eq!(summary.alert_count, 0);
    assert_eq!(
        store
            .group_members(Some(group.id), None)
            .await
            .unwrap()
            .len(),
        2
    );

    let (page, total) = store
        .list_server_summaries(Some(Page {
            page: 2,
            page_size: 1,
        }))
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].server.id, later.id);
    assert!(store.nginx_upstreams(None).await.unwrap().is_empty());

    store.remove_group_member(group.id, later.id).await.unwrap();
    assert!(matches!(
        store.remove_group_member(group.id, later.id).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_server(linked.id).await.unwrap();
    assert!(
        store
            .group_members(Some(group.id), None)
            .await
            .unwrap()
            .is_empty(),
        "a deleted server leaves its groups"
    );
    assert!(matches!(
        store.delete_server(linked.id).await,
        Err(StoreError::NotFound(_))
    ));
    let renamed = store
        .update_server_group(
            group.id,
            NewServerGroup {
                name: "topo-lb".to_owned(),
                category: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "topo-lb");
    store.delete_server_group(group.id).await.unwrap();
    assert!(store.server_group(group.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_server_group(group.id).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_server(later.id).await.unwrap();
}
