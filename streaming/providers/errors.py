"""How an upstream's HTTP statuses, headers and in-stream error objects become the typed
``ProviderError``s of ``streaming.events``; shared by every provider."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from streaming.events import (
    AuthenticationFailed,
    BadRequest,
    ModelUnavailable,
    Overloaded,
    ProviderError,
    RateLimited,
    UpstreamUnavailable,
)

# Raised by the HTTP clients under the SDKs when a connection breaks mid-body; the SDKs only
# wrap errors that happen before the response starts.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = ()
for _module in ("httpx2", "httpx"):
    try:
        TRANSPORT_ERRORS += (__import__(_module).TransportError,)
    except ImportError:
        pass

# Error ``type`` strings from in-stream error objects (Anthropic's ``error.type``, OpenAI's
# ``error.type`` or ``error.code``).
_BY_TYPE: dict[str, type[ProviderError]] = {
    "overloaded_error": Overloaded,
    "rate_limit_error": RateLimited,
    "rate_limit_exceeded": RateLimited,
    "requests": RateLimited,
    "tokens": RateLimited,
    "api_error": UpstreamUnavailable,
    "server_error": UpstreamUnavailable,
    "authentication_error": AuthenticationFailed,
    "permission_error": AuthenticationFailed,
    "invalid_request_error": BadRequest,
    "not_found_error": ModelUnavailable,
}


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait as the server asked: ``retry-after-ms`` (OpenAI and Anthropic), else
    ``retry-after`` as seconds or an HTTP date."""
    if not headers:
        return None
    try:
        return max(0.0, float(headers["retry-after-ms"]) / 1000)
    except (KeyError, ValueError):
        pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_for_status(
    status: int, detail: str, *, provider: str, retry_after: float | None = None
) -> ProviderError:
    if status == 429:
        kind: type[ProviderError] = RateLimited
    elif status in (503, 529):
        kind = Overloaded
    elif status >= 500 or status in (408, 409):
        kind = UpstreamUnavailable
    elif status in (401, 403):
        kind = AuthenticationFailed
    elif status == 404:
        kind = ModelUnavailable
    elif 400 <= status < 500:
        kind = BadRequest
    else:
        kind = ProviderError
    message = f"{provider} answered HTTP {status}: {detail}"
    return kind(message, status=status, retry_after=retry_after, reason=detail)


def error_for_type(error_type: str, detail: str, *, provider: str) -> ProviderError:
    kind = _BY_TYPE.get(error_type, ProviderError)
    return kind(
        f"{provider} reported an error mid-stream ({error_type or 'unknown'}): {detail}",
        reason=detail or error_type,
    )


# Failures to open a connection at all (the SDKs wrap them in their connection errors).
_NOT_CONNECTED = ("ConnectError", "ConnectTimeout")


def connection_lost(exc: BaseException, *, provider: str) -> UpstreamUnavailable:
    """The connection failed: never made (refused, no route, timed out connecting), or cut
    while the provider answered."""
    reached = True
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ in _NOT_CONNECTED:
            reached = False
        cause = cause.__cause__ or cause.__context__
    return UpstreamUnavailable(
        f"Lost the connection to {provider}: {exc or type(exc).__name__}", reached=reached
    )


def body_reason(body: Any, fallback: str) -> str:
    """The error message of an error body (``{"error": {"message": …}}`` and its kin)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    return fallback


def from_status_error(exc: Any, *, provider: str) -> ProviderError:
    """An ``APIStatusError`` of the openai or anthropic SDK (they share the shape)."""
    error = error_for_status(
        exc.status_code,
        exc.message,
        provider=provider,
        retry_after=retry_after(exc.response.headers),
    )
    error.reason = body_reason(getattr(exc, "body", None), exc.message)
    return error
