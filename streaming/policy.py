"""What every provider's stream gets, whoever the vendor: retries with backoff before the first
event, an idle timeout, and errors marked ``partial`` once anything was yielded.

Providers themselves never retry (their SDK clients are built with ``max_retries=0``), so the
rules live here once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from streaming.events import (
    ChatRequest,
    Event,
    IdleTimeout,
    KeepAlive,
    ProviderError,
    ReasoningDelta,
)
from streaming.providers.base import Provider
from streaming.watchdog import IdleWatchdog


@dataclass(frozen=True)
class StreamPolicy:
    """``retries`` is how many times a retryable failure is tried again (so at most
    ``retries + 1`` requests). Backoff is ``base_delay * 2**n`` capped at ``max_delay``, minus
    up to ``jitter`` of it at random; a server's ``retry_after`` replaces it, and one above
    ``max_retry_after`` is not waited for at all. ``sleep`` is injectable for tests."""

    retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    idle_timeout: float = 120.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep, repr=False)

    def delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or ``None``: do not retry."""
        if not error.retryable or error.partial or attempt >= self.retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (1 - self.jitter * random.random())


async def guarded(
    provider: Provider, request: ChatRequest, policy: StreamPolicy | None = None
) -> AsyncIterator[Event]:
    """``provider.stream(request)`` under ``policy``.

    Before anything was yielded, a retryable ``ProviderError`` is retried; after, it is raised
    with ``partial=True``: the text already yielded is kept by the caller and never silently
    regenerated. No event for ``idle_timeout`` seconds raises ``IdleTimeout``; a ``KeepAlive``
    (an upstream's ping during long silent reasoning) counts as an event but is not passed on;
    neither it nor an empty ``ReasoningDelta`` ("reasoning has begun") makes a failure
    ``partial``. Closing this
    generator, or cancelling the task iterating it, closes the provider's stream (and with it
    the upstream connection) before returning.
    """
    policy = policy or StreamPolicy()
    watchdog = IdleWatchdog(policy.idle_timeout)
    yielded = False
    attempt = 0
    try:
        while True:
            stream = provider.stream(request)
            try:
                while True:
                    watchdog.begin()
                    try:
                        event = await anext(stream)
                    except StopAsyncIteration:
                        return
                    except asyncio.CancelledError:
                        if not watchdog.expired():
                            raise
                        timeout = IdleTimeout(
                            f"{provider.name or 'The provider'} sent nothing for "
                            f"{policy.idle_timeout:g} seconds"
                        )
                        timeout.seconds = policy.idle_timeout
                        raise timeout from None
                    finally:
                        watchdog.end()
                    if isinstance(event, KeepAlive):
                        continue
                    # "Reasoning has begun" shows nothing yet: trying again repeats nothing.
                    if not isinstance(event, ReasoningDelta) or event.text or event.redacted:
                        yielded = True
                    yield event
            except ProviderError as error:
                error.partial = error.partial or yielded
                delay = policy.delay(attempt, error)
                if delay is None:
                    raise
            finally:
                await stream.aclose()
            attempt += 1
            await policy.sleep(delay)
    finally:
        watchdog.close()
