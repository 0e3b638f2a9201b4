"""The ASGI application Daphne serves (``chat.asgi:application``).

Besides routing HTTP and WebSocket connections, it starts this process's part in answers when
the process starts serving (Daphne runs no ASGI lifespan): its control channel, and the sweeper
that marks answers of dead processes interrupted. Under Daphne it also stops gracefully: on
SIGTERM or SIGINT, Twisted runs its "before shutdown" triggers, where every answer of this
process is interrupted, stored and its end frame sent before Daphne cancels the connections'
application instances (see ``_under_daphne``).
"""

import asyncio
import logging
import os
import sys

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat.settings")
# Django must be set up before the consumers (and the models they import) are.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat import answers  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.web.origin import SameOriginValidator  # noqa: E402
from chat.web.signed_in import SignedIn  # noqa: E402

log = logging.getLogger(__name__)
_background: set[asyncio.Future[None]] = set()
# How long the connections get to write the last frames out before Twisted drops them
# (unwritten data and all) at the end of a graceful stop.
LAST_WRITES = 0.2

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
    that do not announce their start (under Daphne it starts with the reactor, below).

    Under Daphne (``hold_on_stop``) it also keeps each connection's application from being
    cancelled while a graceful stop is under way: Daphne's own shutdown trigger cancels every
    application instance at once. Today's consumer and Django's streaming responses happen to
    go on sending after that (their sends do not go through the cancelled task), but nothing
    promises it; here each connection's application runs as a task of its own, which a
    cancellation reaches only once the stop has sent the end frames.
    """

    def __init__(self, app):
        self.app = app
        self.hold_on_stop = False
        self.stopping: asyncio.Future[None] | None = None

    async def __call__(self, scope, receive, send):
        await start_serving()
        if not self.hold_on_stop:
            return await self.app(scope, receive, send)
        inner = asyncio.ensure_future(self.app(scope, receive, send))
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            if self.stopping is not None:
                await asyncio.wait([self.stopping])
            inner.cancel()
            await asyncio.wait([inner])
            raise


application = Serving(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SameOriginValidator(SignedIn(URLRouter(websocket_urlpatterns))),
        }
    )
)


def _keep(task: asyncio.Future[None]) -> asyncio.Future[None]:
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def stop_gracefully() -> None:
    """Interrupt this process's answers (each stores what its clients were sent and tells
    them), within ``GRACEFUL_STOP_TIMEOUT_S``; then give the sockets a moment to write."""
    try:
        async with asyncio.timeout(settings.GRACEFUL_STOP_TIMEOUT):
            await answers.stop_serving()
    except TimeoutError:
        log.warning(
            "the graceful stop took over %s s; the answers left are for the stale sweeper",
            settings.GRACEFUL_STOP_TIMEOUT,
        )
    except Exception:
        log.exception("the graceful stop failed")
    await asyncio.sleep(LAST_WRITES)


def _when_served_by_twisted(reactor) -> None:
    """The daphne app (in INSTALLED_APPS) installs Twisted's asyncio reactor whenever Django is
    set up, so its presence says nothing: only a reactor that runs means Daphne serves this
    process. The reactor is read from ``sys.modules``, never imported (that would install
    one of Twisted's choosing wherever none is yet).

    Once it runs: sweep stale answers at once, before any request comes, and stop gracefully.
    SIGTERM and SIGINT make Twisted fire its "before shutdown" triggers, one after the other in
    one go: Daphne's cancels every connection's application instance, ours starts the graceful
    stop and hands Twisted a Deferred of it. ``Serving`` holds each cancelled connection until
    the stop is done, so the answers' end frames go out while the applications still run;
    Twisted closes the connections and exits once both triggers' Deferreds have fired."""

    def started() -> None:
        from twisted.internet import defer

        def before_shutdown() -> defer.Deferred[None]:
            if application.stopping is None:
                application.stopping = _keep(asyncio.ensure_future(stop_gracefully()))
            return defer.Deferred.fromFuture(application.stopping)

        application.hold_on_stop = True
        reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)
        _keep(asyncio.ensure_future(start_serving()))

    reactor.callWhenRunning(started)


if (reactor := sys.modules.get("twisted.internet.reactor")) is not None:
    _when_served_by_twisted(reactor)
