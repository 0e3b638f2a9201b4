"""The three wire formats, byte for byte as the providers' streaming APIs send them.

Each format turns a ``Script`` into a sequence of ``Frame``s; the server decides pacing and where
a mid-stream fault cuts in, so that logic exists once for all formats.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.fakes.script import Fault, Script, split_tokens

# ``head`` and ``meta`` frames are framing, ``token`` frames carry answer (or thinking) text and are
# paced and counted for ``Fault.after``, ``tool`` frames carry tool calls, ``tail`` frames end it.
HEAD, META, TOKEN, TOOL, TAIL = "head", "meta", "token", "tool", "tail"


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes
    kind: str


@dataclass(frozen=True, slots=True)
class HttpError:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _pieces(text: str, count: int = 3) -> list[str]:
    """Split a JSON string into fragments the way streamed tool arguments arrive."""
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _retry_headers(fault: Fault) -> dict[str, str]:
    headers = {}
    if fault.retry_after is not None:
        headers["retry-after"] = str(fault.retry_after)
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    return headers


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


class WireFormat:
    name = ""
    content_type = "text/event-stream"

    def __init__(self, script: Script, body: dict[str, Any], model: str) -> None:
        self.script = script
        self.body = body
        self.model = model
        self.tokens = script.answer_tokens()
        self.thinking = split_tokens(script.thinking)
        self.input_tokens = (
            script.input_tokens
            if script.input_tokens is not None
            else max(1, len(json.dumps(self.prompt_texts())) // 4)
        )
        self.output_tokens = (
            script.output_tokens
            if script.output_tokens is not None
            else len(self.tokens) + len(self.thinking) + 10 * len(script.tool_calls)
        )

    @classmethod
    def last_user_text(cls, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def prompt_texts(self) -> list[str]:
        return [self.last_user_text(self.body)]

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def malformed(self) -> bytes:
        raise NotImplementedError

    def error_event(self, fault: Fault) -> bytes:
        raise NotImplementedError

    def http_error(self, fault: Fault) -> HttpError:
        raise NotImplementedError


class OpenAIChat(WireFormat):
    name = "openai"
    _FINISH = {
        "end": "stop",
        "length": "length",
        "tool_calls": "tool_calls",
        "content_filter": "content_filter",
    }

    @classmethod
    def last_user_text(cls, body: dict[str, Any]) -> str:
        for message in reversed(body.get("messages") or []):
            if message.get("role") == "user":
                return _message_text(message.get("content"))
        return ""

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return self._data(chunk)

    @staticmethod
    def _data(payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def frames(self) -> Iterator[Frame]:
        self.id = f"chatcmpl-fake{int(time.time() * 1000)}"
        self.created = int(time.time())
        options = self.body.get("stream_options") or {}
        self.include_usage = bool(options.get("include_usage"))
        yield Frame(self._chunk({"role": "assistant", "content": "", "refusal": None}), HEAD)
        # OpenAI-compatible reasoning servers (vLLM, DeepSeek) stream thinking this way.
        for token in self.thinking:
            yield Frame(self._chunk({"reasoning_content": token}), TOKEN)
        for token in self.tokens:
            yield Frame(self._chunk({"content": token}), TOKEN)
        for index, call in enumerate(self.script.tool_calls):
            first = {
                "index": index,
                "id": call.id or f"call_fake{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield Frame(self._chunk({"tool_calls": [first]}), TOOL)
            for piece in _pieces(json.dumps(call.arguments)):
                fragment = {"index": index, "function": {"arguments": piece}}
                yield Frame(self._chunk({"tool_calls": [fragment]}), TOOL)
        yield Frame(self._chunk({}, self._FINISH[self.script.finish_reason()]), TAIL)
        if self.include_usage and self.script.usage:
            usage = {
                "prompt_tokens": self.input_tokens,
                "completion_tokens": self.output_tokens,
                "total_tokens": self.input_tokens + self.output_tokens,
            }
            yield Frame(
                self._data(
                    {
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": usage,
                    }
                ),
                TAIL,
            )
        yield Frame(b"data: [DONE]\n\n", TAIL)

    def malformed(self) -> bytes:
        return b'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"x\n\n'

    def error_event(self, fault: Fault) -> bytes:
        error = {
            "message": fault.message or "The server had an error while processing your request.",
            "type": fault.error_type or "server_error",
            "param": None,
            "code": None,
        }
        return self._data({"error": error})

    def http_error(self, fault: Fault) -> HttpError:
        status = {"invalid_key": 401, "overloaded": 503}.get(fault.kind, fault.status)
        kinds = {
            401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
            429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
            503: ("server_error", None, "The engine is currently overloaded."),
        }
        error_type, code, message = kinds.get(status, ("server_error", None, "Server error."))
        body = {
            "error": {
                "message": fault.message or message,
                "type": error_type,
                "param": None,
                "code": code,
            }
        }
        return HttpError(status, body, {"x-request-id": "req_fake", **_retry_headers(fault)})


class AnthropicMessages(WireFormat):
    name = "anthropic"
    _STOP = {
        "end": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "content_filter": "refusal",
    }

    @classmethod
    def last_user_text(cls, body: dict[str, Any]) -> str:
        for message in reversed(body.get("messages") or []):
            if message.get("role") == "user":
                return _message_text(message.get("content"))
        return ""

    @staticmethod
    def _event(payload: dict[str, Any]) -> bytes:
        # The Python SDK drops events without an ``event:`` line, so it is never omitted.
        return b"event: %s\ndata: %s\n\n" % (
            payload["type"].encode(),
            json.dumps(payload, separators=(",", ":")).encode(),
        )

    def frames(self) -> Iterator[Frame]:
        event = self._event
        message = {
            "id": f"msg_fake{int(time.time() * 1000)}",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1},
        }
        yield Frame(event({"type": "message_start", "message": message}), HEAD)
        yield Frame(event({"type": "ping"}), HEAD)
        index = 0
        blocks = (("thinking", self.thinking), ("text", self.tokens))
        for kind, tokens in blocks:
            if not tokens:
                continue
            start = {"type": kind, kind: ""}
            if kind == "thinking":
                start["signature"] = ""
            yield Frame(
                event({"type": "content_block_start", "index": index, "content_block": start}),
                META,
            )
            for token in tokens:
                delta = {"type": f"{kind}_delta", kind: token}
                yield Frame(
                    event({"type": "content_block_delta", "index": index, "delta": delta}), TOKEN
                )
            if kind == "thinking":
                delta = {"type": "signature_delta", "signature": "RmFrZVNpZ25hdHVyZQ=="}
                yield Frame(
                    event({"type": "content_block_delta", "index": index, "delta": delta}), META
                )
            yield Frame(event({"type": "content_block_stop", "index": index}), META)
            index += 1
        for number, call in enumerate(self.script.tool_calls):
            block = {
                "type": "tool_use",
                "id": call.id or f"toolu_fake{number}",
                "name": call.name,
                "input": {},
            }
            yield Frame(
                event({"type": "content_block_start", "index": index, "content_block": block}),
                TOOL,
            )
            for piece in ["", *_pieces(json.dumps(call.arguments))]:
                delta = {"type": "input_json_delta", "partial_json": piece}
                yield Frame(
                    event({"type": "content_block_delta", "index": index, "delta": delta}), TOOL
                )
            yield Frame(event({"type": "content_block_stop", "index": index}), TOOL)
            index += 1
        delta = {"stop_reason": self._STOP[self.script.finish_reason()], "stop_sequence": None}
        payload: dict[str, Any] = {"type": "message_delta", "delta": delta}
        if self.script.usage:
            payload["usage"] = {"output_tokens": self.output_tokens}
        yield Frame(event(payload), TAIL)
        yield Frame(event({"type": "message_stop"}), TAIL)

    def malformed(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"del\n\n'

    def error_event(self, fault: Fault) -> bytes:
        error = {
            "type": fault.error_type or "overloaded_error",
            "message": fault.message or "Overloaded",
        }
        return self._event({"type": "error", "error": error})

    def http_error(self, fault: Fault) -> HttpError:
        status = {"invalid_key": 401, "overloaded": 529}.get(fault.kind, fault.status)
        types = {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }
        error_type = types.get(status, "api_error")
        body = {
            "type": "error",
            "error": {"type": error_type, "message": fault.message or error_type},
            "request_id": "req_fake",
        }
        return HttpError(status, body, {"request-id": "req_fake", **_retry_headers(fault)})


class GeminiStream(WireFormat):
    name = "gemini"
    _FINISH = {
        "end": "STOP",
        "length": "MAX_TOKENS",
        "tool_calls": "STOP",
        "content_filter": "SAFETY",
    }
    _STATUS = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }

    @classmethod
    def last_user_text(cls, body: dict[str, Any]) -> str:
        for content in reversed(body.get("contents") or []):
            if content.get("role", "user") == "user":
                texts = [part["text"] for part in content.get("parts", []) if "text" in part]
                if texts:
                    return " ".join(texts)
        return ""

    @staticmethod
    def _data(payload: dict[str, Any]) -> bytes:
        # google-genai insists on the exact ``data: `` prefix; the real service frames with CRLF.
        return b"data: " + json.dumps(payload).encode() + b"\r\n\r\n"

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        usage: dict[str, Any] = {
            "promptTokenCount": self.input_tokens,
            "totalTokenCount": self.input_tokens,
        }
        if finish:
            candidate["finishReason"] = finish
            usage["candidatesTokenCount"] = self.output_tokens
            usage["totalTokenCount"] = self.input_tokens + self.output_tokens
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if self.script.usage:
            chunk["usageMetadata"] = usage
        chunk["modelVersion"] = self.model
        chunk["responseId"] = self.response_id
        return self._data(chunk)

    def frames(self) -> Iterator[Frame]:
        self.response_id = f"fake-resp-{int(time.time() * 1000)}"
        for token in self.thinking:
            yield Frame(self._chunk([{"text": token, "thought": True}]), TOKEN)
        for token in self.tokens:
            yield Frame(self._chunk([{"text": token}]), TOKEN)
        if self.script.tool_calls:
            parts = [
                {"functionCall": {"name": call.name, "args": call.arguments}}
                for call in self.script.tool_calls
            ]
            yield Frame(self._chunk(parts), TOOL)
        finish = self._FINISH[self.script.finish_reason()]
        yield Frame(self._chunk([{"text": ""}], finish), TAIL)

    def malformed(self) -> bytes:
        return b'data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n'

    def _error(self, status: int, message: str, details: list[Any] | None = None) -> dict:
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": self._STATUS.get(status, "UNKNOWN"),
        }
        if details:
            error["details"] = details
        return {"error": error}

    def error_event(self, fault: Fault) -> bytes:
        message = fault.message or "An internal error has occurred."
        # The SDK only recognises an error chunk whose first key is ``error``.
        return self._data(self._error(fault.status, message))

    def http_error(self, fault: Fault) -> HttpError:
        if fault.kind == "invalid_key":
            info = {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }
            body = self._error(400, "API key not valid. Please pass a valid API key.", [info])
            return HttpError(400, body, {})
        status = 503 if fault.kind == "overloaded" else fault.status
        details = []
        if fault.retry_after is not None:
            # The real service says when to retry in the body, not in a Retry-After header.
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo"}
            retry["retryDelay"] = f"{fault.retry_after}s"
            details.append(retry)
        message = fault.message or {
            429: "Resource has been exhausted (e.g. check quota).",
            503: "The model is overloaded. Please try again later.",
        }.get(status, "An internal error has occurred.")
        return HttpError(status, self._error(status, message, details), {})


FORMATS: dict[str, type[WireFormat]] = {
    f.name: f for f in (OpenAIChat, AnthropicMessages, GeminiStream)
}
