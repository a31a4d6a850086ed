"""Python client of a VigilOps monitoring server.

``Client`` speaks the REST API (login, hosts, metrics, agent tokens) and ``AgentClient`` the
agent protocol. Both are thin bindings over the Rust client of ``vigilops-core``: calls block
until the server answers (releasing the GIL meanwhile) and return plain dicts and lists.
Errors are ``ApiError`` (with ``.status`` and ``.detail``), ``TransportError``, or their base
``VigilOpsError``.
"""

from vigilops._vigilops import (
    AgentClient,
    ApiError,
    Client,
    TransportError,
    VigilOpsError,
    __version__,
)

__all__ = [
    "AgentClient",
    "ApiError",
    "Client",
    "TransportError",
    "VigilOpsError",
    "__version__",
]
