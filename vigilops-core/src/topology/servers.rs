//! Servers, server groups and their memberships (`rest-api.md` §20), and the multi-server view:
//! servers with their figures, and the edges their nginx upstreams draw between them. A server
//! is linked to the agent host with its hostname, so its status is the host's.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::TopologyError;
use super::wire::{
    Detail, GroupMemberRequest, GroupServerView, MultiServerSummary, MultiServerView, ServerDetail,
    ServerEdgeView, ServerGroupRequest, ServerGroupView, ServerRequest, ServerServiceView,
    ServerSummaryView, ServerView, TopologyServerDetail, UpstreamView,
};
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{
    GroupMember, NewGroupMember, NewServer, NewServerGroup, NginxUpstream, Page, Server,
    ServerGroup, ServerSummary,
};
use crate::protocol::rest::PageOf;
use crate::store::{Store, StoreError};

/// The longest hostname, label, group name or category kept.
const MAX_TEXT_CHARS: usize = 255;

/// The multi-server part of the topology.
#[derive(Debug, Clone)]
pub struct ServerService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl ServerService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Every server with its figures, by id.
    pub async fn all(&self) -> Result<Vec<ServerSummaryView>, TopologyError> {
        let (servers, _) = self.store.list_server_summaries(None).await?;
        Ok(servers.into_iter().map(ServerSummaryView::from).collect())
    }

    /// A page of servers with their figures.
    pub async fn page(&self, page: Page) -> Result<PageOf<ServerSummaryView>, TopologyError> {
        let (servers, total) = self.store.list_server_summaries(Some(page)).await?;
        Ok(PageOf {
            items: servers.into_iter().map(ServerSummaryView::from).collect(),
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One server with its group memberships and upstreams (`/topology/servers/{id}`).
    pub async fn topology_detail(&self, id: i64) -> Result<TopologyServerDetail, TopologyError> {
        let (server, services, upstreams) = self.detail_parts(id).await?;
        Ok(TopologyServerDetail {
            server,
            services,
            upstreams,
        })
    }

    /// One server with its group memberships and upstreams (`/servers/{id}`).
    pub async fn detail(&self, id: i64) -> Result<ServerDetail, TopologyError> {
        let (server, services, nginx_upstreams) = self.detail_parts(id).await?;
        Ok(ServerDetail {
            server,
            services,
            nginx_upstreams,
        })
    }

    async fn detail_parts(
        &self,
        id: i64,
    ) -> Result<(ServerSummaryView, Vec<ServerServiceView>, Vec<UpstreamView>), TopologyError> {
        let server = self
            .store
            .server_summary(id)
            .await?
            .ok_or(TopologyError::ServerNotFound)?;
        let services = self.store.group_members(None, Some(id)).await?;
        let upstreams = self.store.nginx_upstreams(Some(id)).await?;
        Ok((
            server.into(),
            services.into_iter().map(ServerServiceView::from).collect(),
            upstreams.into_iter().map(UpstreamView::from).collect(),
        ))
    }

    /// Creates a server, linked to the agent host with its hostname when there is one.
    pub async fn create(
        &self,
        request: ServerRequest,
        actor: &Actor,
    ) -> Result<ServerView, TopologyError> {
        let server = checked_server(request, None)?;
        let created = self
            .store
            .create_server(server, self.clock.now())
            .await
            .map_err(server_conflict)?;
        self.audit(actor, "create_server", "server", created.id, &created)
            .await?;
        Ok(created.into())
    }

    /// Changes the given fields of a server.
    pub async fn update(
        &self,
        id: i64,
        request: ServerRequest,
        actor: &Actor,
    ) -> Result<ServerView, TopologyError> {
        let current = self
            .store
            .server_summary(id)
            .await?
            .ok_or(TopologyError::ServerNotFound)?;
        let server = checked_server(request, Some(current.server))?;
        let updated = self
            .store
            .update_server(id, server, self.clock.now())
            .await
            .map_err(server_conflict)?;
        self.audit(actor, "update_server", "server", id, &updated)
            .await?;
        Ok(updated.into())
    }

    /// Deletes a server with its memberships and upstreams.
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<Detail, TopologyError> {
        let current = self
            .store
            .server_summary(id)
            .await?
            .ok_or(TopologyError::ServerNotFound)?;
        self.store
            .delete_server(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => TopologyError::ServerNotFound,
                other => other.into(),
            })?;
        self.audit(actor, "delete_server", "server", id, &current.server)
            .await?;
        Ok(Detail {
            detail: "Server deleted".to_owned(),
        })
    }

    /// Every group with the servers running it (`/topology/service-groups`).
    pub async fn groups_with_servers(&self) -> Result<Vec<ServerGroupView>, TopologyError> {
        let (groups, _) = self.store.list_server_groups(None).await?;
        let members = self.store.group_members(None, None).await?;
        Ok(with_members(groups, &members))
    }

    /// A page of groups with the servers running them.
    pub async fn group_page(&self, page: Page) -> Result<PageOf<ServerGroupView>, TopologyError> {
        let (groups, total) = self.store.list_server_groups(Some(page)).await?;
        let members = self.store.group_members(None, None).await?;
        Ok(PageOf {
            items: with_members(groups, &members),
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One group with the servers running it.
    pub async fn group(&self, id: i64) -> Result<ServerGroupView, TopologyError> {
        let group = self
            .store
            .server_group(id)
            .await?
            .ok_or(TopologyError::GroupNotFound)?;
        let members = self.store.group_members(Some(id), None).await?;
        Ok(ServerGroupView::new(group, members))
    }

    /// Creates a group.
    pub async fn create_group(
        &self,
        request: ServerGroupRequest,
        actor: &Actor,
    ) -> Result<ServerGroupView, TopologyError> {
        let group = checked_group(request, None)?;
        let created = self
            .store
            .create_server_group(group, self.clock.now())
            .await
            .map_err(group_conflict)?;
        self.audit_group(actor, "create_server_group", &created)
            .await?;
        Ok(ServerGroupView::new(created, Vec::new()))
    }

    /// Changes the given fields of a group.
    pub async fn update_group(
        &self,
        id: i64,
        request: ServerGroupRequest,
        actor: &Actor,
    ) -> Result<ServerGroupView, TopologyError> {
        let current = self
            .store
            .server_group(id)
            .await?
            .ok_or(TopologyError::GroupNotFound)?;
        let group = checked_group(request, Some(current))?;
        let updated = self
            .store
            .update_server_group(id, group)
            .await
            .map_err(group_conflict)?;
        self.audit_group(actor, "update_server_group", &updated)
            .await?;
        let members = self.store.group_members(Some(id), None).await?;
        Ok(ServerGroupView::new(updated, members))
    }

    /// Deletes a group with its memberships.
    pub async fn delete_group(&self, id: i64, actor: &Actor) -> Result<(), TopologyError> {
        let current = self
            .store
            .server_group(id)
            .await?
            .ok_or(TopologyError::GroupNotFound)?;
        self.store
            .delete_server_group(id)
            .await
            .map_err(group_conflict)?;
        self.audit_group(actor, "delete_server_group", &current)
            .await
    }

    /// Adds a server to the group `group_id`.
    pub async fn add_member(
        &self,
        group_id: i64,
        request: GroupMemberRequest,
        actor: &Actor,
    ) -> Result<GroupServerView, TopologyError> {
        if request.group_id.is_some_and(|body| body != group_id) {
            return Err(TopologyError::invalid(
                "group_id",
                "must be the group of the path",
            ));
        }
        let status = request
            .status
            .as_deref()
            .map_or("running", str::trim)
            .to_owned();
        check_text("status", &status, true)?;
        for (field, value) in [
            ("cpu_percent", request.cpu_percent),
            ("mem_mb", request.mem_mb),
        ] {
            if value.is_some_and(|value| !value.is_finite() || value < 0.0) {
                return Err(TopologyError::invalid(field, "must be a number ≥ 0"));
            }
        }
        for (field, value) in [("port", request.port), ("pid", request.pid)] {
            if value.is_some_and(|value| value < 0) {
                return Err(TopologyError::invalid(field, "must be ≥ 0"));
            }
        }
        let member = self
            .store
            .add_group_member(
                NewGroupMember {
                    server_id: request.server_id,
                    group_id,
                    port: request.port,
                    pid: request.pid,
                    status,
                    cpu_percent: request.cpu_percent.unwrap_or(0.0),
                    mem_mb: request.mem_mb.unwrap_or(0.0),
                },
                self.clock.now(),
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound("server") => TopologyError::ServerNotFound,
                StoreError::NotFound(_) => TopologyError::GroupNotFound,
                StoreError::Conflict(_) => TopologyError::DuplicateMember,
                other => other.into(),
            })?;
        self.audit_member(actor, "add_server_group_member", &member)
            .await?;
        Ok(member.into())
    }

    /// Removes a server from a group.
    pub async fn remove_member(
        &self,
        group_id: i64,
        server_id: i64,
        actor: &Actor,
    ) -> Result<(), TopologyError> {
        let member = self
            .store
            .group_members(Some(group_id), Some(server_id))
            .await?
            .into_iter()
            .next()
            .ok_or(TopologyError::MemberNotFound)?;
        self.store
            .remove_group_member(group_id, server_id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => TopologyError::MemberNotFound,
                other => other.into(),
            })?;
        self.audit_member(actor, "remove_server_group_member", &member)
            .await
    }

    /// Servers, the edges their nginx upstreams draw, and the counts.
    pub async fn multi_server(&self) -> Result<MultiServerView, TopologyError> {
        let (servers, _) = self.store.list_server_summaries(None).await?;
        let upstreams = self.store.nginx_upstreams(None).await?;
        let (_, group_count) = self
            .store
            .list_server_groups(Some(Page {
                page: 1,
                page_size: 1,
            }))
            .await?;
        let edges = upstream_edges(&servers, &upstreams);
        let count = |status: &str| {
            servers
                .iter()
                .filter(|summary| summary.server.status == status)
                .count()
        };
        let summary = MultiServerSummary {
            server_count: servers.len(),
            online_count: count("online"),
            offline_count: count("offline"),
            service_group_count: group_count,
            edge_count: edges.len(),
        };
        Ok(MultiServerView {
            servers: servers.into_iter().map(ServerSummaryView::from).collect(),
            edges,
            summary,
        })
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        resource_type: &str,
        id: i64,
        server: &Server,
    ) -> Result<(), TopologyError> {
        self.record(
            actor,
            action,
            resource_type,
            id,
            json!({"hostname": server.hostname, "host_id": server.host_id}),
        )
        .await
    }

    async fn audit_group(
        &self,
        actor: &Actor,
        action: &str,
        group: &ServerGroup,
    ) -> Result<(), TopologyError> {
        self.record(
            actor,
            action,
            "server_group",
            group.id,
            json!({"name": group.name, "category": group.category}),
        )
        .await
    }

    async fn audit_member(
        &self,
        actor: &Actor,
        action: &str,
        member: &GroupMember,
    ) -> Result<(), TopologyError> {
        self.record(
            actor,
            action,
            "server_group",
            member.group_id,
            json!({"server_id": member.server_id, "hostname": member.hostname}),
        )
        .await
    }

    async fn record(
        &self,
        actor: &Actor,
        action: &str,
        resource_type: &str,
        id: i64,
        detail: Value,
    ) -> Result<(), TopologyError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            resource_type,
            Some(id.to_string()),
            Some(detail),
        )
        .await?;
        Ok(())
    }
}

fn server_conflict(error: StoreError) -> TopologyError {
    match error {
        StoreError::Conflict(_) => TopologyError::DuplicateHostname,
        StoreError::NotFound(_) => TopologyError::ServerNotFound,
        other => other.into(),
    }
}

fn group_conflict(error: StoreError) -> TopologyError {
    match error {
        StoreError::Conflict(_) => TopologyError::DuplicateGroupName,
        StoreError::NotFound(_) => TopologyError::GroupNotFound,
        other => other.into(),
    }
}

fn with_members(groups: Vec<ServerGroup>, members: &[GroupMember]) -> Vec<ServerGroupView> {
    groups
        .into_iter()
        .map(|group| {
            let mine = members
                .iter()
                .filter(|member| member.group_id == group.id)
                .cloned()
                .collect();
            ServerGroupView::new(group, mine)
        })
        .collect()
}

/// A non-empty (when `required`) text of at most 255 characters.
fn check_text(field: &'static str, text: &str, required: bool) -> Result<(), TopologyError> {
    if required && text.is_empty() {
        return Err(TopologyError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(TopologyError::invalid(
            field,
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

/// An optional text trimmed, empty as absent.
fn optional_text(
    field: &'static str,
    text: Option<String>,
) -> Result<Option<String>, TopologyError> {
    let text = text
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    if let Some(text) = &text {
        check_text(field, text, false)?;
    }
    Ok(text)
}

/// A server from a request: all of it when creating, the given fields over `current` when
/// updating.
fn checked_server(
    request: ServerRequest,
    current: Option<Server>,
) -> Result<NewServer, TopologyError> {
    let hostname = match (request.hostname, &current) {
        (Some(hostname), _) => hostname.trim().to_owned(),
        (None, Some(current)) => current.hostname.clone(),
        (None, None) => return Err(TopologyError::invalid("hostname", "is required")),
    };
    check_text("hostname", &hostname, true)?;
    if let Some(tags) = &request.tags
        && !(tags.is_array() || tags.is_object() || tags.is_null())
    {
        return Err(TopologyError::invalid(
            "tags",
            "must be an array or an object",
        ));
    }
    let ip_address = optional_text("ip_address", request.ip_address)?;
    let label = optional_text("label", request.label)?;
    let tags = request.tags.filter(|tags| !tags.is_null());
    Ok(match current {
        None => NewServer {
            hostname,
            ip_address,
            label,
            tags,
            is_simulated: request.is_simulated.unwrap_or(false),
        },
        Some(current) => NewServer {
            hostname,
            ip_address: ip_address.or(current.ip_address),
            label: label.or(current.label),
            tags: tags.or(current.tags),
            is_simulated: request.is_simulated.unwrap_or(current.is_simulated),
        },
    })
}

/// A group from a request, like [`checked_server`].
fn checked_group(
    request: ServerGroupRequest,
    current: Option<ServerGroup>,
) -> Result<NewServerGroup, TopologyError> {
    let name = match (request.name, &current) {
        (Some(name), _) => name.trim().to_owned(),
        (None, Some(current)) => current.name.clone(),
        (None, None) => return Err(TopologyError::invalid("name", "is required")),
    };
    check_text("name", &name, true)?;
    let category = optional_text("category", request.category)?;
    Ok(NewServerGroup {
        name,
        category: category.or(current.and_then(|current| current.category)),
    })
}

/// The host part of an upstream's `host:port` (IPv6 in brackets).
fn backend_host(address: &str) -> &str {
    let address = address.trim();
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => address,
    }
}

/// One edge per (nginx server, backend server, upstream) whose backend address names another
/// server by IP address or hostname.
pub fn upstream_edges(
    servers: &[ServerSummary],
    upstreams: &[NginxUpstream],
) -> Vec<ServerEdgeView> {
    let mut seen = BTreeSet::new();
    upstreams
        .iter()
        .filter_map(|upstream| {
            let host = backend_host(&upstream.backend_address);
            let target = servers.iter().find(|summary| {
                summary.server.ip_address.as_deref() == Some(host)
                    || summary.server.hostname.eq_ignore_ascii_case(host)
            })?;
            let edge = (
                upstream.server_id,
                target.server.id,
                upstream.upstream_name.clone(),
            );
            (upstream.server_id != target.server.id && seen.insert(edge)).then(|| ServerEdgeView {
                from_server: upstream.server_id,
                to_server: target.server.id,
                via: "nginx_upstream".to_owned(),
                upstream: upstream.upstream_name.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn summary(id: i64, hostname: &str, ip: &str) -> ServerSummary {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        ServerSummary {
            server: Server {
                id,
                hostname: hostname.to_owned(),
                ip_address: Some(ip.to_owned()),
                label: None,
                tags: None,
                status: "unknown".to_owned(),
                last_seen: None,
                is_simulated: false,
                host_id: None,
                created_at: at,
                updated_at: at,
            },
            service_count: 0,
            cpu_avg: None,
            mem_avg: None,
            alert_count: 0,
        }
    }

    fn upstream(id: i64, server_id: i64, name: &str, address: &str) -> NginxUpstream {
        NginxUpstream {
            id,
            server_id,
            upstream_name: name.to_owned(),
            backend_address: address.to_owned(),
            weight: 1,
            status: "up".to_owned(),
        }
    }

    #[test]
    fn backend_hosts_drop_the_port() {
        assert_eq!(backend_host("10.0.0.2:8080"), "10.0.0.2");
        assert_eq!(backend_host("app-1"), "app-1");
        assert_eq!(backend_host("[::1]:80"), "::1");
    }

    #[test]
    fn upstreams_link_servers_by_ip_or_hostname_once() {
        let servers = vec![
            summary(1, "lb", "10.0.0.1"),
            summary(2, "app-1", "10.0.0.2"),
            summary(3, "app-2", "10.0.0.3"),
        ];
        let upstreams = vec![
            upstream(1, 1, "backend", "10.0.0.2:8080"),
            upstream(2, 1, "backend", "10.0.0.2:8081"),
            upstream(3, 1, "backend", "APP-2:8080"),
            upstream(4, 1, "other", "192.168.9.9:80"),
            upstream(5, 1, "self", "10.0.0.1:80"),
        ];
        let edges = upstream_edges(&servers, &upstreams);
        assert_eq!(
            edges
                .iter()
                .map(|edge| (edge.from_server, edge.to_server, edge.upstream.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, 2, "backend"), (1, 3, "backend")]
        );
    }

    #[test]
    fn updates_keep_what_is_not_given() {
        let current = summary(1, "web-1", "10.0.0.1").server;
        let request = ServerRequest {
            hostname: None,
            ip_address: None,
            label: Some("edge".to_owned()),
            tags: None,
            is_simulated: Some(true),
        };
        let updated = checked_server(request, Some(current)).unwrap();
        assert_eq!(updated.hostname, "web-1");
        assert_eq!(updated.ip_address.as_deref(), Some("10.0.0.1"));
        assert_eq!(updated.label.as_deref(), Some("edge"));
        assert!(updated.is_simulated);
        let missing = checked_server(
            ServerRequest {
                hostname: Some("  ".to_owned()),
                ip_address: None,
                label: None,
                tags: None,
                is_simulated: None,
            },
            None,
        );
        assert!(matches!(
            missing,
            Err(TopologyError::Invalid {
                field: "hostname",
                ..
            })
        ));
    }
}
