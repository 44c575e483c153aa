"""Bastion: a declarative blueprint of your domain becomes a production backend.

The names most projects need are here::

    from bastion import Hooks, HookEvent, Rejected, FieldError, create_app

and, for in-app event consumers, ``ConsumedEvent``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bastion.core import FieldError, HookEvent, Hooks, Rejected, RequestContext

if TYPE_CHECKING:
    from bastion.app import BastionApp, create_app
    from bastion.core.events.consumers import ConsumedEvent

__version__ = "0.1.0"
__all__ = [
    "BastionApp",
    "ConsumedEvent",
    "FieldError",
    "HookEvent",
    "Hooks",
    "Rejected",
    "RequestContext",
    "__version__",
    "create_app",
]


def __getattr__(name: str) -> Any:
    # The application pulls in every adapter; import it only when asked for.
    if name in ("create_app", "BastionApp"):
        from bastion import app

        return getattr(app, name)
    if name == "ConsumedEvent":
        from bastion.core.events.consumers import ConsumedEvent

        return ConsumedEvent
    raise AttributeError(f"module 'bastion' has no attribute {name!r}")
