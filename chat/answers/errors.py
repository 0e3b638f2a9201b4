"""Why the engine refuses a request. The edges turn each into their own error (a WebSocket
error frame, an HTTP status) through one table, ``chat.web.refusals``."""

from __future__ import annotations


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


class NotStreaming(Refused):
    """A stop for an answer that is no longer being written."""


class NotResumable(Refused):
    """Regenerating an answer still being written, or continuing one that completed."""


# What the user is told when a provider fails, by ``ProviderError.code``.
PROVIDER_ERRORS = {
    "rate_limited": "The model's provider is rate limiting us. Try again in a moment.",
    "overloaded": "The model's provider is overloaded. Try again in a moment.",
    "upstream_unavailable": "The model's provider could not be reached.",
    "idle_timeout": "The model stopped sending text.",
    "authentication_failed": "The model's provider refused our key. Tell the administrator.",
    "bad_request": "The model's provider refused the request.",
    "malformed_stream": "The model's provider sent something we could not read.",
    "model_unavailable": "This model cannot run here.",
}
