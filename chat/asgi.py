"""The ASGI application Daphne serves (``chat.asgi:application``).

Besides routing HTTP and WebSocket connections, it starts this process's part in answers when
the process starts serving (Daphne runs no ASGI lifespan): its control channel, and the sweeper
that marks answers of dead processes interrupted.
"""

import asyncio
import logging
import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat.settings")
# Django must be set up before the consumers (and the models they import) are.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat import answers  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402

log = logging.getLogger(__name__)
_background: set[asyncio.Future[None]] = set()

# The configured providers, built now, before the server listens: building them imports their
# SDKs, seconds of work that froze every socket of the process when the first model use did it
# on the event loop.
answers.models()


async def start_serving() -> None:
    try:
        await answers.start_serving()
    except Exception:  # never keep a request from being served; the next one tries again
        log.exception("starting this process's part in answers failed")


class Serving:
    """Starts this process's part in answers on its first connection of any kind, for servers
    that do not announce their start (under Daphne it starts with the reactor, below)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await start_serving()
        return await self.app(scope, receive, send)


application = Serving(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)


def _under_daphne(reactor) -> None:
    """Daphne installed Twisted's asyncio reactor before importing this module; it is read
    from ``sys.modules`` only, as importing it would install one in any other process."""

    def started() -> None:
        # Sweep at once, before any request comes.
        task = asyncio.ensure_future(start_serving())
        _background.add(task)
        task.add_done_callback(_background.discard)

    reactor.callWhenRunning(started)


if (reactor := sys.modules.get("twisted.internet.reactor")) is not None:
    _under_daphne(reactor)
