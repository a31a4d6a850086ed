//! The topology (`rest-api.md` §20, `remediation-and-ai.md` §9): the service graph with its
//! edges (stored dependencies, else what agents observed, else name heuristics), per-user
//! layouts, manual and AI-suggested dependencies, and the hand-kept servers and server groups of
//! the multi-server view, linked to agent hosts by hostname.
//!
//! - [`graph`]: pure node merging, grouping and edge precedence, unit-tested.
//! - [`servers`]: servers, server groups, memberships and the multi-server view.
//! - [`wire`]: the REST shapes.

pub mod graph;
pub mod servers;
pub mod wire;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use self::wire::{
    AppliedView, DependencyRequest, DependencyView, Detail, EdgeView, LayoutRequest, LayoutSaved,
    NodeView, SuggestionView, SuggestionsView, TopologyHost, TopologyView,
};
use crate::ai::LlmError;
use crate::ai::service::{AiError, AiService};
use crate::ai::topology::ServiceBrief;
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{NewServiceDependency, ServiceDependency};
use crate::store::{Store, StoreError};

/// The layout `GET /topology` returns.
pub const DEFAULT_LAYOUT: &str = "default";
/// The most nodes a saved layout may place.
const MAX_LAYOUT_NODES: usize = 10_000;
/// The longest dependency description kept.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The most dependencies one apply may create.
const MAX_APPLY: usize = 500;

/// What can go wrong. Validation errors name the body field at fault.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("Service not found")]
    ServiceNotFound,
    #[error("Dependency not found")]
    DependencyNotFound,
    /// 400, as the original answers.
    #[error("Dependency already exists")]
    DuplicateDependency,
    #[error("Server not found")]
    ServerNotFound,
    #[error("Server group not found")]
    GroupNotFound,
    #[error("Server is not in this group")]
    MemberNotFound,
    /// 400, as the original answers.
    #[error("Server hostname already exists")]
    DuplicateHostname,
    /// 400.
    #[error("Server group name already exists")]
    DuplicateGroupName,
    /// 400.
    #[error("Server is already in this group")]
    DuplicateMember,
    /// 422, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// 500, as the contract says (the original's message).
    #[error("AI API key not configured")]
    AiNotConfigured,
    /// 502.
    #[error("the language model failed: {0}")]
    Llm(LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TopologyError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<AiError> for TopologyError {
    fn from(error: AiError) -> Self {
        match error {
            AiError::NotConfigured => Self::AiNotConfigured,
            AiError::Llm(error) => Self::Llm(error),
            AiError::Store(error) => Self::Store(error),
            other => Self::Llm(LlmError::Provider(other.to_string())),
        }
    }
}

/// The service graph, its layouts and its dependencies.
#[derive(Debug, Clone)]
pub struct TopologyService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl TopologyService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The graph as `user_id` sees it (with their saved default layout).
    pub async fn graph(&self, user_id: i64) -> Result<TopologyView, TopologyError> {
        let services = self.store.topology_services().await?;
        let stored = self.store.service_dependencies().await?;
        // Observed edges are read only when they can be drawn.
        let observed = if stored.is_empty() {
            self.store.all_discovered_dependencies().await?
        } else {
            Vec::new()
        };
        let nodes = graph::nodes(&services);
        let (edges, origin) = graph::edges(&nodes, &stored, &observed);
        let mut hosts: BTreeMap<i64, String> = BTreeMap::new();
        for service in &services {
            if let (Some(id), Some(name)) = (service.host_id, &service.hostname) {
                hosts.entry(id).or_insert_with(|| name.clone());
            }
        }
        Ok(TopologyView {
            nodes: nodes
                .into_iter()
                .map(|node| NodeView {
                    id: node.id,
                    name: node.name,
                    node_type: node.check_type,
                    status: node.status,
                    host: node.host,
                    host_id: node.host_id,
                    group: node.group.to_owned(),
                    category: node.category,
                    service_ids: node.service_ids,
                })
                .collect(),
            edges: edges
                .into_iter()
                .map(|edge| EdgeView {
                    source: edge.source,
                    target: edge.target,
                    edge_type: edge.edge_type,
                    description: edge.description,
                    id: edge.dependency_id,
                    manual: edge.dependency_id.map(|_| true),
                    origin: edge.origin.as_str().to_owned(),
                })
                .collect(),
            hosts: hosts
                .into_iter()
                .map(|(id, name)| TopologyHost { id, name })
                .collect(),
            saved_positions: self.store.topology_layout(user_id, DEFAULT_LAYOUT).await?,
            has_custom_deps: !stored.is_empty(),
            edge_origin: origin.as_str().to_owned(),
        })
    }

    /// Saves `user_id`'s positions under the request's name (default `default`).
    pub async fn save_layout(
        &self,
        request: LayoutRequest,
        actor: &Actor,
        user_id: i64,
    ) -> Result<LayoutSaved, TopologyError> {
        let name = request.name.as_deref().unwrap_or(DEFAULT_LAYOUT).trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(TopologyError::invalid(
                "name",
                "must be 1 to 100 characters",
            ));
        }
        check_positions(&request.positions)?;
        self.store
            .save_topology_layout(user_id, name, &request.positions, self.clock.now())
            .await?;
        self.audit(
            actor,
            "save_topology_layout",
            "topology_layout",
            Some(name.to_owned()),
            json!({"nodes": request.positions.as_object().map_or(0, serde_json::Map::len)}),
        )
        .await?;
        Ok(LayoutSaved {
            detail: "Layout saved".to_owned(),
            positions: request.positions,
        })
    }

    /// Forgets every layout of `user_id`.
    pub async fn delete_layout(
        &self,
        actor: &Actor,
        user_id: i64,
    ) -> Result<Detail, TopologyError> {
        let deleted = self.store.delete_topology_layouts(user_id).await?;
        self.audit(
            actor,
            "delete_topology_layout",
            "topology_layout",
            None,
            json!({"deleted": deleted}),
        )
        .await?;
        Ok(Detail {
            detail: "Layout reset".to_owned(),
        })
    }

    /// Stores a manual dependency. Unknown service: `ServiceNotFound`; the same pair twice:
    /// `DuplicateDependency`.
    pub async fn create_dependency(
        &self,
        request: DependencyRequest,
        actor: &Actor,
    ) -> Result<DependencyView, TopologyError> {
        let dependency = checked_dependency(request, "manual")?;
        let stored = self.insert(dependency).await?;
        self.audit(
            actor,
            "create_dependency",
            "service_dependency",
            Some(stored.id.to_string()),
            json!({"source_service_id": stored.source_service_id,
                   "target_service_id": stored.target_service_id,
                   "dependency_type": stored.dependency_type}),
        )
        .await?;
        Ok(view(stored))
    }

    /// Deletes one stored dependency.
    pub async fn delete_dependency(&self, id: i64, actor: &Actor) -> Result<Detail, TopologyError> {
        self.store
            .delete_service_dependency(id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => TopologyError::DependencyNotFound,
                other => other.into(),
            })?;
        self.audit(
            actor,
            "delete_dependency",
            "service_dependency",
            Some(id.to_string()),
            json!({}),
        )
        .await?;
        Ok(Detail {
            detail: "Dependency deleted".to_owned(),
        })
    }

    /// Deletes every stored dependency (the graph falls back to observed or inferred edges).
    pub async fn delete_all_dependencies(&self, actor: &Actor) -> Result<Detail, TopologyError> {
        let deleted = self.store.delete_all_service_dependencies().await?;
        self.audit(
            actor,
            "delete_all_dependencies",
            "service_dependency",
            None,
            json!({"deleted": deleted}),
        )
        .await?;
        Ok(Detail {
            detail: format!("Deleted {deleted} dependencies"),
        })
    }

    /// Asks the model for dependencies between the active services. Suggestions naming unknown
    /// services, loops and pairs already stored are left out.
    pub async fn suggest(&self, ai: &AiService) -> Result<SuggestionsView, TopologyError> {
        let services = self.store.topology_services().await?;
        let nodes = graph::nodes(&services);
        let briefs: Vec<ServiceBrief> = nodes
            .iter()
            .map(|node| ServiceBrief {
                name: node.name.clone(),
                check_type: node.check_type.clone(),
                category: node.category.clone(),
                host: node.host.clone(),
            })
            .collect();
        let raw = ai.suggest_dependencies(&briefs).await?;
        let by_name: HashMap<&str, i64> = nodes
            .iter()
            .map(|node| (node.name.as_str(), node.id))
            .collect();
        let mut known: HashSet<(i64, i64)> = self
            .store
            .service_dependencies()
            .await?
            .iter()
            .map(|dependency| (dependency.source_service_id, dependency.target_service_id))
            .collect();
        let suggestions: Vec<SuggestionView> = raw
            .into_iter()
            .filter_map(|suggestion| {
                let source = *by_name.get(graph::display_name(&suggestion.source))?;
                let target = *by_name.get(graph::display_name(&suggestion.target))?;
                (source != target && known.insert((source, target))).then_some(SuggestionView {
                    source: suggestion.source,
                    target: suggestion.target,
                    suggestion_type: suggestion.suggestion_type,
                    description: suggestion.description,
                    source_service_id: source,
                    target_service_id: target,
                })
            })
            .collect();
        let total = suggestions.len();
        Ok(SuggestionsView {
            suggestions,
            total,
            message: format!("AI suggested {total} dependencies"),
        })
    }

    /// Stores the chosen suggestions, skipping pairs already stored or repeated. Every service is
    /// checked first, so an unknown one (`ServiceNotFound`) creates nothing.
    pub async fn apply(
        &self,
        requests: Vec<DependencyRequest>,
        actor: &Actor,
    ) -> Result<AppliedView, TopologyError> {
        if requests.len() > MAX_APPLY {
            return Err(TopologyError::invalid(
                "body",
                format!("at most {MAX_APPLY} dependencies at once"),
            ));
        }
        let dependencies = requests
            .into_iter()
            .map(|request| checked_dependency(request, "ai"))
            .collect::<Result<Vec<_>, _>>()?;
        let known: HashSet<i64> = self
            .store
            .topology_services()
            .await?
            .iter()
            .map(|service| service.id)
            .collect();
        for dependency in &dependencies {
            for id in [dependency.source_service_id, dependency.target_service_id] {
                if !known.contains(&id) && self.store.service_name(id).await?.is_none() {
                    return Err(TopologyError::ServiceNotFound);
                }
            }
        }
        let mut created = Vec::new();
        for dependency in dependencies {
            match self.insert(dependency).await {
                Ok(stored) => created.push(stored.id),
                Err(TopologyError::DuplicateDependency) => {}
                Err(other) => return Err(other),
            }
        }
        self.audit(
            actor,
            "apply_ai_dependencies",
            "service_dependency",
            None,
            json!({"created": created}),
        )
        .await?;
        Ok(AppliedView {
            detail: format!("Created {} dependencies", created.len()),
            created: created.len(),
        })
    }

    async fn insert(
        &self,
        dependency: NewServiceDependency,
    ) -> Result<ServiceDependency, TopologyError> {
        self.store
            .create_service_dependency(dependency, self.clock.now())
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => TopologyError::ServiceNotFound,
                StoreError::Conflict(_) => TopologyError::DuplicateDependency,
                other => other.into(),
            })
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        resource_type: &str,
        resource_id: Option<String>,
        detail: Value,
    ) -> Result<(), TopologyError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            resource_type,
            resource_id,
            Some(detail),
        )
        .await?;
        Ok(())
    }
}

fn view(dependency: ServiceDependency) -> DependencyView {
    DependencyView {
        id: dependency.id,
        source_service_id: dependency.source_service_id,
        target_service_id: dependency.target_service_id,
        dependency_type: dependency.dependency_type,
        description: dependency.description,
    }
}

/// A dependency request checked field by field.
fn checked_dependency(
    request: DependencyRequest,
    origin: &str,
) -> Result<NewServiceDependency, TopologyError> {
    let dependency_type = request
        .dependency_type
        .as_deref()
        .map_or("calls", str::trim)
        .to_owned();
    if !matches!(dependency_type.as_str(), "calls" | "depends_on") {
        return Err(TopologyError::invalid(
            "dependency_type",
            "must be `calls` or `depends_on`",
        ));
    }
    if request.source_service_id == request.target_service_id {
        return Err(TopologyError::invalid(
            "target_service_id",
            "a service cannot depend on itself",
        ));
    }
    let description = request
        .description
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    if description
        .as_ref()
        .is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(TopologyError::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(NewServiceDependency {
        source_service_id: request.source_service_id,
        target_service_id: request.target_service_id,
        dependency_type,
        description,
        origin: origin.to_owned(),
    })
}

/// Positions are an object of node id → `{x, y}` with finite numbers.
fn check_positions(positions: &Value) -> Result<(), TopologyError> {
    let Some(map) = positions.as_object() else {
        return Err(TopologyError::invalid(
            "positions",
            "must be an object of node id to {x, y}",
        ));
    };
    if map.len() > MAX_LAYOUT_NODES {
        return Err(TopologyError::invalid(
            "positions",
            format!("at most {MAX_LAYOUT_NODES} nodes"),
        ));
    }
    let valid = map.values().all(|position| {
        ["x", "y"].iter().all(|axis| {
            position
                .get(axis)
                .and_then(Value::as_f64)
                .is_some_and(f64::is_finite)
        })
    });
    if !valid {
        return Err(TopologyError::invalid(
            "positions",
            "every position must be {x, y} with numbers",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(source: i64, target: i64, kind: Option<&str>) -> DependencyRequest {
        DependencyRequest {
            source_service_id: source,
            target_service_id: target,
            dependency_type: kind.map(str::to_owned),
            description: Some("  ".to_owned()),
        }
    }

    fn field_of(result: Result<NewServiceDependency, TopologyError>) -> &'static str {
        match result {
            Err(TopologyError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn dependency_requests_are_checked_field_by_field() {
        let ok = checked_dependency(request(1, 2, None), "manual").unwrap();
        assert_eq!(ok.dependency_type, "calls");
        assert_eq!(ok.description, None);
        assert_eq!(
            field_of(checked_dependency(request(1, 2, Some("uses")), "manual")),
            "dependency_type"
        );
        assert_eq!(
            field_of(checked_dependency(request(3, 3, None), "manual")),
            "target_service_id"
        );
    }

    #[test]
    fn positions_must_be_points() {
        assert!(check_positions(&json!({"1": {"x": 1, "y": 2.5}})).is_ok());
        assert!(check_positions(&json!({})).is_ok());
        assert!(check_positions(&json!([1])).is_err());
        assert!(check_positions(&json!({"1": {"x": "a", "y": 1}})).is_err());
        assert!(check_positions(&json!({"1": {"x": 1}})).is_err());
    }
}
