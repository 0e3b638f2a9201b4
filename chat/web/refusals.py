"""One table from what went wrong to what each edge says: the error code of a WebSocket error
frame and the status of an HTTP response. The detail is the exception's message, for the user.
"""

from __future__ import annotations

from django.db import DatabaseError

from chat import answers
from chat.web.requests import BadFrame

UNAVAILABLE = "The server cannot reach its database right now. Try again in a moment."
INTERNAL = "Something went wrong. Try again in a moment."

# Exception -> (error code, HTTP status). BadFrame carries its own code.
TABLE: dict[type[Exception], tuple[str, int]] = {
    answers.NotFound: ("not_found", 404),
    answers.UnknownModel: ("bad_model", 400),
    answers.TooManyAnswers: ("too_many", 429),
    answers.AttachmentUnsupported: ("attachment_unsupported", 400),  # before its base class
    answers.CannotAnswer: ("cannot_answer", 400),
    answers.NotStreaming: ("not_streaming", 409),
    answers.NotResumable: ("not_resumable", 400),
    DatabaseError: ("unavailable", 503),
}
STATUS_OF_BAD_FRAME = {"too_long": 413}


def refusal(exc: Exception) -> tuple[str, int, str] | None:
    """(code, HTTP status, detail) for an exception the edges answer; None for a bug."""
    if isinstance(exc, BadFrame):
        return exc.code, STATUS_OF_BAD_FRAME.get(exc.code, 400), exc.detail
    for kind, (code, status) in TABLE.items():
        if isinstance(exc, kind):
            return code, status, UNAVAILABLE if kind is DatabaseError else str(exc)
    return None
