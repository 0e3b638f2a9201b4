"""Why the engine refuses a request. The edges turn each into their own error (a WebSocket
error frame, an HTTP status) through one table, ``chat.web.refusals``."""

from __future__ import annotations

from chat import redaction
from streaming.events import ProviderError


class Refused(Exception):
    """The request cannot be carried out; the message says why, for the user."""


class NotFound(Refused):
    """No such message or conversation, or not the user's."""


class UnknownModel(Refused, ValueError):
    """A model this installation does not offer."""


class TooManyAnswers(Refused):
    """The user already has as many answers being written as they may."""


class CannotAnswer(Refused):
    """The answer cannot start (the conversation no longer fits the model, for instance)."""


class AttachmentUnsupported(CannotAnswer):
    """The model cannot take a file of the message: images for a model without vision, a PDF
    without text for one that cannot read PDFs."""


class SignedOut(Refused):
    """The sign-in a socket was opened with has ended (signed out elsewhere, its password
    changed): nothing was started."""


class NotStreaming(Refused):
    """A stop for an answer that is no longer being written."""


class NotResumable(Refused):
    """Regenerating an answer still being written, or continuing one that completed."""


# The longest of a provider's own words a user is shown ("refused the request (HTTP 400: …)").
REASON_CHARS = 200


def provider_failure(error: ProviderError, provider: str) -> str:
    """What the user is told when ``provider`` (its display name, "OpenAI", "the local
    server") failed: who, and what happened: could not be reached, dropped the connection
    mid-answer, refused (with its status and reason), timed out, rate limited."""
    status = f"HTTP {error.status}" if error.status else ""
    reason = _reason(error)
    said = "; ".join(part for part in (status, reason) if part)
    said = f" ({said})" if said else ""
    mid = " mid-answer" if error.partial else ""
    match error.code:
        case "rate_limited" if error.partial:
            text = f"{provider} rate limited us mid-answer{_status(status)}."
        case "rate_limited":
            text = f"{provider} is rate limiting us{_status(status)}. Try again in a moment."
        case "overloaded" if error.partial:
            text = f"{provider} was overloaded mid-answer{_status(status)}."
        case "overloaded":
            text = f"{provider} is overloaded{_status(status)}. Try again in a moment."
        case "upstream_unavailable" if error.status and error.partial:
            text = f"{provider} failed with a server error mid-answer ({status})."
        case "upstream_unavailable" if error.status:
            text = f"{provider} failed with a server error ({status}). Try again in a moment."
        case "upstream_unavailable" if not error.reached:
            text = f"{provider} could not be reached."
        case "upstream_unavailable" if reason:
            text = f"{provider} reported a server error{mid}{said}."
        case "upstream_unavailable" if error.partial:
            text = f"The connection to {provider} dropped mid-answer."
        case "upstream_unavailable":
            text = f"The connection to {provider} dropped before the answer began."
        case "idle_timeout":
            seconds = getattr(error, "seconds", None)
            silent = f" for {seconds:g} s" if seconds else ""
            if error.partial:
                text = f"{provider} stopped sending{silent} mid-answer, so the answer timed out."
            else:
                text = f"{provider} sent nothing{silent}, so the request timed out."
        case "authentication_failed":
            text = f"{provider} refused our key{_status(status)}. Tell the administrator."
        case "bad_request":
            text = f"{provider} refused the request{said}."
        case "malformed_stream":
            text = f"{provider} sent something we could not read{mid}."
        case "model_unavailable" if error.status:
            text = f"{provider} does not offer this model{said}."
        case "model_unavailable":
            text = "This model cannot run here."
        case _:
            text = f"{provider} reported an error{mid}{said}."
    return text[0].upper() + text[1:]


def _status(status: str) -> str:
    return f" ({status})" if status else ""


def _reason(error: ProviderError) -> str:
    """The provider's own words, one line, without secrets, not too long."""
    reason = redaction.redact(" ".join(error.reason.split())).rstrip(".")
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1].rstrip() + "…"
    return reason
