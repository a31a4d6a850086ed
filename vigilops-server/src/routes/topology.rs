//! `/api/v1/topology` (`rest-api.md` §20): the service graph, per-user layouts, manual and
//! AI-suggested dependencies, and the multi-server view. Reads need a viewer, layouts are each
//! viewer's own, other writes need an operator. The rules are core's
//! (`vigilops_core::topology`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigilops_core::protocol::rest::ErrorBody;
use vigilops_core::topology::servers::ServerService;
use vigilops_core::topology::wire::{
    AppliedView, DependencyRequest, DependencyView, Detail, LayoutRequest, LayoutSaved,
    MultiServerView, ServerGroupView, ServerRequest, ServerSummaryView, ServerView,
    SuggestionsView, TopologyServerDetail, TopologyView,
};
use vigilops_core::topology::{TopologyError, TopologyService};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ClientIp, Operator, Viewer};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get))
        .routes(routes!(save_layout, delete_layout))
        .routes(routes!(create_dependency, delete_all_dependencies))
        .routes(routes!(delete_dependency))
        .routes(routes!(ai_suggest))
        .routes(routes!(ai_apply))
        .routes(routes!(multi_server))
        .routes(routes!(list_servers, create_server))
        .routes(routes!(get_server, delete_server))
        .routes(routes!(service_groups))
}

pub(crate) fn topology(state: &AppState) -> TopologyService {
    TopologyService::new(state.store.clone(), state.clock.clone())
}

pub(crate) fn servers(state: &AppState) -> ServerService {
    ServerService::new(state.store.clone(), state.clock.clone())
}

impl From<TopologyError> for ApiError {
    fn from(error: TopologyError) -> Self {
        let message = error.to_string();
        match error {
            TopologyError::ServiceNotFound
            | TopologyError::DependencyNotFound
            | TopologyError::ServerNotFound
            | TopologyError::GroupNotFound
            | TopologyError::MemberNotFound => Self::new(StatusCode::NOT_FOUND, message),
            TopologyError::DuplicateDependency
            | TopologyError::DuplicateHostname
            | TopologyError::DuplicateGroupName
            | TopologyError::DuplicateMember => Self::new(StatusCode::BAD_REQUEST, message),
            TopologyError::Invalid { field, .. } => {
                Self::validation(&["body", field], message, "value_error")
            }
            // The contract's status for a missing key; the message says what to set.
            TopologyError::AiNotConfigured => Self::new(StatusCode::INTERNAL_SERVER_ERROR, message),
            TopologyError::Llm(error) => {
                tracing::warn!(%error, "topology suggestions failed");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    format!("AI suggestion failed: {error}"),
                )
            }
            TopologyError::Store(error) => error.into(),
        }
    }
}

/// The service graph: nodes merged by name, edges (stored dependencies, else what agents
/// observed, else inferred from names; each edge says which), hosts, and the caller's layout.
#[utoipa::path(get, path = "/api/v1/topology", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = TopologyView), (status = 403, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<TopologyView>, ApiError> {
    Ok(Json(topology(&state).graph(viewer.user.id).await?))
}

/// Saves the caller's node positions (each user has their own). Audited.
#[utoipa::path(post, path = "/api/v1/topology/layout", tag = "topology", security(("bearer" = [])),
    request_body = LayoutRequest,
    responses((status = 200, body = LayoutSaved), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn save_layout(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LayoutRequest>,
) -> Result<Json<LayoutSaved>, ApiError> {
    let actor = viewer.actor(ip);
    Ok(Json(
        topology(&state)
            .save_layout(body, &actor, viewer.user.id)
            .await?,
    ))
}

/// Forgets the caller's layouts. Audited.
#[utoipa::path(delete, path = "/api/v1/topology/layout", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = Detail), (status = 403, body = ErrorBody)))]
async fn delete_layout(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientIp(ip): ClientIp,
) -> Result<Json<Detail>, ApiError> {
    let actor = viewer.actor(ip);
    Ok(Json(
        topology(&state)
            .delete_layout(&actor, viewer.user.id)
            .await?,
    ))
}

/// Stores a dependency. An unknown service is 404, the same pair twice 400. Audited.
#[utoipa::path(post, path = "/api/v1/topology/dependencies", tag = "topology", security(("bearer" = [])),
    request_body = DependencyRequest,
    responses((status = 200, body = DependencyView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_dependency(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<DependencyRequest>,
) -> Result<Json<DependencyView>, ApiError> {
    Ok(Json(
        topology(&state)
            .create_dependency(body, &operator.actor(ip))
            .await?,
    ))
}

/// Deletes every stored dependency. Audited.
#[utoipa::path(delete, path = "/api/v1/topology/dependencies", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = Detail), (status = 403, body = ErrorBody)))]
async fn delete_all_dependencies(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
) -> Result<Json<Detail>, ApiError> {
    Ok(Json(
        topology(&state)
            .delete_all_dependencies(&operator.actor(ip))
            .await?,
    ))
}

/// Deletes one stored dependency. Audited.
#[utoipa::path(delete, path = "/api/v1/topology/dependencies/{id}", tag = "topology", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_dependency(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Detail>, ApiError> {
    Ok(Json(
        topology(&state)
            .delete_dependency(id, &operator.actor(ip))
            .await?,
    ))
}

/// Asks the language model for dependencies between the services. Nothing is stored. No API
/// key is 500 (the contract's status), a model failure 502.
#[utoipa::path(post, path = "/api/v1/topology/ai-suggest", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = SuggestionsView), (status = 403, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn ai_suggest(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<SuggestionsView>, ApiError> {
    Ok(Json(topology(&state).suggest(&state.ai).await?))
}

/// Stores chosen suggestions, skipping pairs already stored. Any unknown service is 404 and
/// creates nothing. Audited.
#[utoipa::path(post, path = "/api/v1/topology/ai-suggest/apply", tag = "topology", security(("bearer" = [])),
    request_body = Vec<DependencyRequest>,
    responses((status = 200, body = AppliedView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ai_apply(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Vec<DependencyRequest>>,
) -> Result<Json<AppliedView>, ApiError> {
    Ok(Json(
        topology(&state).apply(body, &operator.actor(ip)).await?,
    ))
}

/// Servers, the edges their nginx upstreams draw between them, and the counts.
#[utoipa::path(get, path = "/api/v1/topology/multi-server", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = MultiServerView), (status = 403, body = ErrorBody)))]
async fn multi_server(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<MultiServerView>, ApiError> {
    Ok(Json(servers(&state).multi_server().await?))
}

/// Every server with its figures.
#[utoipa::path(get, path = "/api/v1/topology/servers", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = Vec<ServerSummaryView>), (status = 403, body = ErrorBody)))]
async fn list_servers(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<Vec<ServerSummaryView>>, ApiError> {
    Ok(Json(servers(&state).all().await?))
}

/// Creates a server, linked to the agent host of the same hostname. A taken hostname is 400.
/// Audited.
#[utoipa::path(post, path = "/api/v1/topology/servers", tag = "topology", security(("bearer" = [])),
    request_body = ServerRequest,
    responses((status = 201, body = ServerView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_server(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ServerRequest>,
) -> Result<(StatusCode, Json<ServerView>), ApiError> {
    let server = servers(&state).create(body, &operator.actor(ip)).await?;
    Ok((StatusCode::CREATED, Json(server)))
}

/// One server with its group memberships and upstreams.
#[utoipa::path(get, path = "/api/v1/topology/servers/{id}", tag = "topology", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = TopologyServerDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_server(
    State(state): State<AppState>,
    _viewer: Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TopologyServerDetail>, ApiError> {
    Ok(Json(servers(&state).topology_detail(id).await?))
}

/// Deletes a server with its memberships and upstreams. Audited.
#[utoipa::path(delete, path = "/api/v1/topology/servers/{id}", tag = "topology", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_server(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Detail>, ApiError> {
    Ok(Json(servers(&state).delete(id, &operator.actor(ip)).await?))
}

/// Every server group with the servers running it.
#[utoipa::path(get, path = "/api/v1/topology/service-groups", tag = "topology", security(("bearer" = [])),
    responses((status = 200, body = Vec<ServerGroupView>), (status = 403, body = ErrorBody)))]
async fn service_groups(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Result<Json<Vec<ServerGroupView>>, ApiError> {
    Ok(Json(servers(&state).groups_with_servers().await?))
}
