"""Type stubs of the ``vigilops._vigilops`` extension module (hand-written; keep in sync with
``src/client.rs``, ``src/agent.rs`` and ``src/error.rs``)."""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict, final, type_check_only

__all__ = [
    "AgentClient",
    "ApiError",
    "Client",
    "TransportError",
    "VigilOpsError",
    "__version__",
]

__version__: str

class VigilOpsError(Exception):
    """Base class of the errors raised by the vigilops client."""

class ApiError(VigilOpsError):
    """The server answered with an error status."""

    status: int
    """The HTTP status, such as 401 or 404."""
    detail: str
    """The server's ``detail`` message (JSON text when it was not a string)."""

class TransportError(VigilOpsError):
    """The server could not be reached, timed out, or broke the connection."""

@type_check_only
class TokenPair(TypedDict):
    access_token: str
    refresh_token: str
    token_type: str

@type_check_only
class User(TypedDict):
    id: int
    email: str
    name: str
    role: Literal["admin", "operator", "viewer"]
    is_active: bool
    created_at: str
    updated_at: str

@type_check_only
class HealthChecks(TypedDict):
    api: str
    database: str
    redis: str

@type_check_only
class Health(TypedDict):
    status: Literal["ok", "degraded"]
    checks: HealthChecks
    timestamp: str
    database_backend: str
    version: str

@type_check_only
class Host(TypedDict):
    id: int
    hostname: str
    display_name: str | None
    ip_address: str | None
    private_ip: str | None
    public_ip: str | None
    network_info: Any | None
    os: str | None
    os_version: str | None
    arch: str | None
    cpu_cores: int | None
    memory_total_mb: int | None
    agent_version: str | None
    status: Literal["online", "offline"]
    tags: dict[str, Any] | None
    group_name: str | None
    last_heartbeat: str | None
    created_at: str
    updated_at: str
    latest_metrics: dict[str, Any] | None
    """The non-null values of the latest sample plus ``recorded_at``; ``None`` after 10 min."""

@type_check_only
class HostPage(TypedDict):
    items: list[Host]
    total: int
    page: int
    page_size: int

@type_check_only
class MetricPoint(TypedDict):
    id: int
    host_id: int
    cpu_percent: float | None
    cpu_load_1: float | None
    cpu_load_5: float | None
    cpu_load_15: float | None
    memory_used_mb: float | None
    memory_percent: float | None
    disk_used_mb: float | None
    disk_total_mb: float | None
    disk_percent: float | None
    net_bytes_sent: float | None
    net_bytes_recv: float | None
    net_send_rate_kb: float | None
    net_recv_rate_kb: float | None
    net_packet_loss_rate: float | None
    recorded_at: str

@type_check_only
class _AgentTokenBase(TypedDict):
    id: int
    name: str
    token_prefix: str
    is_active: bool
    created_by: int | None
    created_at: str
    last_used_at: str | None

@type_check_only
class AgentToken(_AgentTokenBase, total=False):
    token: str
    """The plaintext: only in the reply of ``create_agent_token``."""

@type_check_only
class RegisterReply(TypedDict):
    host_id: int
    hostname: str
    status: str
    created: bool

@type_check_only
class HeartbeatReply(TypedDict):
    status: str
    server_time: str
    heartbeat_interval: int

@type_check_only
class MetricsReply(TypedDict):
    status: str
    metric_id: int

@type_check_only
class LogsReply(TypedDict):
    received: int

@final
class Client:
    """A client of a VigilOps server's REST API.

    Safe to share between threads. Every call blocks until the server answers, without
    holding the GIL, and raises ``ApiError``, ``TransportError`` or ``VigilOpsError``.
    """

    def __new__(cls, server_url: str, access_token: str | None = None) -> Client: ...
    @property
    def server_url(self) -> str: ...
    @property
    def access_token(self) -> str | None:
        """The access token in use, or ``None`` before ``login``."""
    def login(self, email: str, password: str) -> TokenPair:
        """Logs in; later calls use the new access token."""
    def me(self) -> User: ...
    def health(self) -> Health: ...
    def hosts(
        self,
        status: Literal["online", "offline"] | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> HostPage: ...
    def host(self, id: int) -> Host: ...
    def host_metrics(
        self,
        id: int,
        hours: int = 1,
        interval: Literal["raw", "5min", "1h", "1d"] = "raw",
    ) -> list[MetricPoint]: ...
    def create_agent_token(self, name: str) -> AgentToken:
        """Creates an agent token; ``token`` in the reply is the plaintext, shown only once."""
    def agent_tokens(self) -> list[AgentToken]: ...
    def revoke_agent_token(self, id: int) -> None: ...

@final
class AgentClient:
    """A client of the agent protocol, authenticated by an agent token.

    Request bodies are mappings shaped as in the agent protocol; a body that does not fit
    raises ``ValueError``.
    """

    def __new__(cls, server_url: str, token: str) -> AgentClient: ...
    @property
    def server_url(self) -> str: ...
    def register(self, host: Mapping[str, Any]) -> RegisterReply: ...
    def heartbeat(self, host_id: int) -> HeartbeatReply: ...
    def metrics(
        self, report: Mapping[str, Any], idempotency_key: str | None = None
    ) -> MetricsReply: ...
    def logs(
        self, entries: Sequence[Mapping[str, Any]], idempotency_key: str | None = None
    ) -> LogsReply: ...
