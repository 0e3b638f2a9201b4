"""The four wire formats, byte for byte as the providers' streaming APIs send them: OpenAI Chat
Completions, the OpenAI Responses API, Anthropic Messages and Gemini.

Each format turns a ``Script`` into a sequence of ``Frame``s; the server decides pacing and where
a mid-stream fault cuts in, so that logic exists once for all formats.

Each format also ``refuse``s a request the real API would refuse before streaming anything, with
its HTTP 400 and message: above all a follow-up that lacks the reasoning it must carry back
(Anthropic's signed thinking blocks in a tool loop, Gemini 3's thought signatures, the Responses
API's reasoning items with their encrypted content). The opaque values the fake hands out
(signatures, redacted data, encrypted content) are derived from what they sign, so the fake can
check them on the way back without remembering anything, in any process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import re
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


_responses = itertools.count(1)


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(("fake-upstream", *parts)).encode()).digest()


def _unbase64(text: Any) -> bytes | None:
    """Standard or URL-safe base64 (google-genai sends signatures back URL-safe)."""
    if not isinstance(text, str):
        return None
    try:
        padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
        return base64.b64decode(padded, validate=True)
    except (ValueError, binascii.Error):
        return None


def anthropic_signature(thinking: str) -> str:
    """The signature the fake gives a thinking block: it changes if the thinking does."""
    return base64.b64encode(_digest("anthropic-thinking", thinking)).decode()


def anthropic_redacted_data(number: int) -> str:
    return base64.b64encode(b"redacted:" + _digest("anthropic-redacted", str(number))).decode()


def gemini_signature(part: dict[str, Any]) -> bytes:
    """A thought signature over the part it comes with (its function call, or its text)."""
    call = part.get("functionCall")
    if call is not None:
        args = json.dumps(call.get("args") or {}, sort_keys=True)
        return _digest("gemini-call", call.get("name", ""), args)
    return _digest("gemini-text", part.get("text", ""))


def responses_encrypted_content(item_id: str) -> str:
    return "gAAAAAB" + base64.urlsafe_b64encode(_digest("openai-reasoning", item_id)).decode()


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
        self.reasoning = split_tokens(script.reasoning)
        self.reasoning_tokens = (
            script.reasoning_tokens
            if script.reasoning_tokens is not None
            else (len(self.reasoning) or None)
        )
        self.input_tokens = (
            script.input_tokens
            if script.input_tokens is not None
            else max(1, len(json.dumps(self.prompt_texts())) // 4)
        )
        self.output_tokens = (
            script.output_tokens
            if script.output_tokens is not None
            else len(self.tokens) + len(self.reasoning) + 10 * len(script.tool_calls)
        )

    @classmethod
    def last_user_text(cls, body: dict[str, Any]) -> str:
        raise NotImplementedError

    @classmethod
    def refuse(cls, body: dict[str, Any], model: str) -> HttpError | None:
        """The real API's answer to a request it refuses outright, or ``None``."""
        return None

    def keepalive(self) -> bytes:
        """What the API sends while it has nothing else to say (empty: nothing)."""
        return b""

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

    def _content(self) -> tuple[list[str], list[str]]:
        """The reasoning deltas and the content deltas, by ``reasoning_format``."""
        style = self.script.reasoning_format or "reasoning_content"
        reasoning, content = self.reasoning, self.tokens
        if self.script.reasoning and style in ("think_tags", "thinking_tags", "lone_close"):
            answer = "".join(self.tokens)
            if style == "lone_close":  # DeepSeek-R1: the template opened the block
                inline = f"{self.script.reasoning}\n</think>\n\n{answer}"
            else:
                tag = "think" if style == "think_tags" else "thinking"
                inline = f"<{tag}>\n{self.script.reasoning}\n</{tag}>\n\n{answer}"
            reasoning, content = [], split_tokens(inline)
        size = self.script.chunk_chars
        if size > 0:
            joined = "".join(content)
            content = [joined[i : i + size] for i in range(0, len(joined), size)]
        return reasoning, content

    def frames(self) -> Iterator[Frame]:
        self.id = f"chatcmpl-fake{int(time.time() * 1000)}"
        self.created = int(time.time())
        options = self.body.get("stream_options") or {}
        self.include_usage = bool(options.get("include_usage"))
        yield Frame(self._chunk({"role": "assistant", "content": "", "refusal": None}), HEAD)
        # OpenAI-compatible reasoning servers stream reasoning in a field of its own: DeepSeek and
        # llama.cpp ``reasoning_content``, vLLM (since 0.11), Ollama and OpenRouter ``reasoning``.
        field = "reasoning" if self.script.reasoning_format == "reasoning" else "reasoning_content"
        reasoning, content = self._content()
        for token in reasoning:
            yield Frame(self._chunk({field: token}), TOKEN)
        for token in content:
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
            usage: dict[str, Any] = {
                "prompt_tokens": self.input_tokens,
                "completion_tokens": self.output_tokens,
                "total_tokens": self.input_tokens + self.output_tokens,
            }
            if self.reasoning_tokens is not None:
                usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
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

    @classmethod
    def refuse(cls, body: dict[str, Any], model: str) -> HttpError | None:
        # DeepSeek's thinking mode wants each tool-calling turn's reasoning back, always.
        if not model.startswith("deepseek-reasoner"):
            return None
        for index, message in enumerate(body.get("messages") or []):
            if (
                message.get("role") == "assistant"
                and message.get("tool_calls")
                and "reasoning_content" not in message
            ):
                return _openai_refusal(
                    f"Missing `reasoning_content` field in the assistant message at message "
                    f"index {index}. For more information, please refer to "
                    "https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
                )
        return None

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
        return _openai_http_error(fault)


def _openai_http_error(fault: Fault) -> HttpError:
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


def _openai_refusal(message: str, *, param: str | None = None, code: str | None = None):
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }
    return HttpError(400, body, {"x-request-id": "req_fake"})


class OpenAIResponses(WireFormat):
    """``POST /v1/responses`` with ``stream: true``: named events whose data repeats the
    ``type`` and carries a ``sequence_number``, no ``[DONE]``. Output items (reasoning, message,
    function calls) are each announced by ``response.output_item.added`` and given whole by
    ``response.output_item.done``; ``response.completed`` (or ``.incomplete``) carries usage."""

    name = "openai_responses"
    _INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}

    def __init__(self, script: Script, body: dict[str, Any], model: str) -> None:
        super().__init__(script, body, model)
        self.sequence = 0
        # "r": this response has a reasoning item, which its function calls need beside them.
        self.token = (
            f"{int(time.time() * 1000)}x{next(_responses)}{'r' if script.reasoning else ''}"
        )
        self.response_id = f"resp_fake{self.token}"
        self.created = int(time.time())

    @classmethod
    def last_user_text(cls, body: dict[str, Any]) -> str:
        items = body.get("input")
        if isinstance(items, str):
            return items
        for item in reversed(items or []):
            if isinstance(item, dict) and item.get("role") == "user":
                content = item.get("content")
                if isinstance(content, list):
                    return " ".join(
                        part.get("text", "") for part in content if isinstance(part, dict)
                    )
                return content if isinstance(content, str) else ""
        return ""

    def prompt_texts(self) -> list[str]:
        return [str(self.body.get("instructions") or ""), self.last_user_text(self.body)]

    def _event(self, payload: dict[str, Any]) -> bytes:
        payload = {"type": payload["type"], "sequence_number": self.sequence, **payload}
        self.sequence += 1
        return b"event: %s\ndata: %s\n\n" % (
            payload["type"].encode(),
            json.dumps(payload, separators=(",", ":")).encode(),
        )

    def _response(self, status: str, output: list[Any], **extra: Any) -> dict[str, Any]:
        body = self.body
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": 1.0,
            "tool_choice": "auto",
            "tools": body.get("tools") or [],
            "top_p": 1.0,
            "usage": None,
            **extra,
        }

    def frames(self) -> Iterator[Frame]:
        event = self._event
        yield Frame(
            event({"type": "response.created", "response": self._response("in_progress", [])}), HEAD
        )
        yield Frame(
            event({"type": "response.in_progress", "response": self._response("in_progress", [])}),
            HEAD,
        )
        output: list[dict[str, Any]] = []
        if self.script.reasoning:
            yield from self._reasoning_item(output)
        if self.tokens:
            yield from self._message_item(output)
        for number, call in enumerate(self.script.tool_calls):
            yield from self._function_call_item(output, number, call)
        finish = self.script.finish_reason()
        usage = None
        if self.script.usage:
            usage = {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens or 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            }
        if finish in self._INCOMPLETE:
            details = {"reason": self._INCOMPLETE[finish]}
            response = self._response("incomplete", output, usage=usage, incomplete_details=details)
            yield Frame(event({"type": "response.incomplete", "response": response}), TAIL)
        else:
            response = self._response("completed", output, usage=usage)
            yield Frame(event({"type": "response.completed", "response": response}), TAIL)

    def _reasoning_item(self, output: list[dict[str, Any]]) -> Iterator[Frame]:
        event, index = self._event, len(output)
        item_id = f"rs_fake{self.token}_{index}"
        # A summary only when asked for, encrypted content only when included (store: false).
        summarize = bool((self.body.get("reasoning") or {}).get("summary"))
        encrypted = "reasoning.encrypted_content" in (self.body.get("include") or [])
        item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
        if encrypted:
            # The one on output_item.added "may be incomplete".
            item["encrypted_content"] = responses_encrypted_content(item_id)[:16]
        yield Frame(
            event({"type": "response.output_item.added", "output_index": index, "item": item}),
            META,
        )
        summary = []
        if summarize:
            ids = {"item_id": item_id, "output_index": index, "summary_index": 0}
            part = {"type": "summary_text", "text": ""}
            yield Frame(
                event({"type": "response.reasoning_summary_part.added", **ids, "part": part}), META
            )
            for token in self.reasoning:
                delta = {"type": "response.reasoning_summary_text.delta", **ids, "delta": token}
                yield Frame(event({**delta, "obfuscation": "fAkE"}), TOKEN)
            text = "".join(self.reasoning)
            yield Frame(
                event({"type": "response.reasoning_summary_text.done", **ids, "text": text}), META
            )
            part = {"type": "summary_text", "text": text}
            yield Frame(
                event({"type": "response.reasoning_summary_part.done", **ids, "part": part}), META
            )
            summary = [part]
        item = {"id": item_id, "type": "reasoning", "summary": summary}
        if encrypted:
            item["encrypted_content"] = responses_encrypted_content(item_id)
        output.append(item)
        yield Frame(
            event({"type": "response.output_item.done", "output_index": index, "item": item}), META
        )

    def _message_item(self, output: list[dict[str, Any]]) -> Iterator[Frame]:
        event, index = self._event, len(output)
        item_id = f"msg_fake{self.token}_{index}"
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        yield Frame(
            event({"type": "response.output_item.added", "output_index": index, "item": item}), META
        )
        ids = {"item_id": item_id, "output_index": index, "content_index": 0}
        part: dict[str, Any] = {
            "type": "output_text",
            "annotations": [],
            "logprobs": [],
            "text": "",
        }
        yield Frame(event({"type": "response.content_part.added", **ids, "part": part}), META)
        for token in self.tokens:
            delta = {"type": "response.output_text.delta", **ids, "delta": token, "logprobs": []}
            yield Frame(event({**delta, "obfuscation": "fAkE"}), TOKEN)
        text = "".join(self.tokens)
        yield Frame(
            event({"type": "response.output_text.done", **ids, "text": text, "logprobs": []}), META
        )
        part = {**part, "text": text}
        yield Frame(event({"type": "response.content_part.done", **ids, "part": part}), META)
        item = {**item, "status": "completed", "content": [part]}
        output.append(item)
        yield Frame(
            event({"type": "response.output_item.done", "output_index": index, "item": item}), META
        )

    def _function_call_item(
        self, output: list[dict[str, Any]], number: int, call: Any
    ) -> Iterator[Frame]:
        event, index = self._event, len(output)
        item_id = f"fc_fake{self.token}_{index}"
        item: dict[str, Any] = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call.id or f"call_fake{self.token}_{number}",
            "name": call.name,
        }
        yield Frame(
            event({"type": "response.output_item.added", "output_index": index, "item": item}), TOOL
        )
        arguments = json.dumps(call.arguments)
        ids = {"item_id": item_id, "output_index": index}
        for piece in _pieces(arguments):
            delta = {"type": "response.function_call_arguments.delta", **ids, "delta": piece}
            yield Frame(event({**delta, "obfuscation": "fAkE"}), TOOL)
        done = {"type": "response.function_call_arguments.done", **ids, "arguments": arguments}
        yield Frame(event({**done, "name": call.name}), TOOL)
        item = {**item, "status": "completed", "arguments": arguments}
        output.append(item)
        yield Frame(
            event({"type": "response.output_item.done", "output_index": index, "item": item}), TOOL
        )

    def malformed(self) -> bytes:
        name = b"response.output_text.delta"
        return b'event: %s\ndata: {"type":"%s","del\n\n' % (name, name)

    def error_event(self, fault: Fault) -> bytes:
        # As recorded from the real API: an ``error`` event with the error nested, then
        # ``response.failed`` (openai-python's own stream would raise on the first).
        kind = fault.error_type or "server_error"
        message = fault.message or "The server had an error while processing your request."
        error = {"type": kind, "code": kind, "message": message, "param": None}
        failed = self._response("failed", [], error={"code": kind, "message": message})
        return self._event({"type": "error", "error": error}) + self._event(
            {"type": "response.failed", "response": failed}
        )

    def http_error(self, fault: Fault) -> HttpError:
        return _openai_http_error(fault)

    @classmethod
    def refuse(cls, body: dict[str, Any], model: str) -> HttpError | None:
        if body.get("reasoning") and re.match(r"gpt-(3|4)", model):
            return _openai_refusal(
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                param="reasoning.effort",
                code="unsupported_parameter",
            )
        items = body.get("input")
        if not isinstance(items, list):
            return None
        calls = {
            i.get("call_id")
            for i in items
            if isinstance(i, dict) and i.get("type") == "function_call"
        }
        ids = [i.get("id", "") if isinstance(i, dict) else "" for i in items]
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            kind, item_id = item.get("type"), str(item.get("id") or "")
            if kind == "reasoning":
                refusal = cls._check_reasoning(body, item, item_id, ids[position + 1 :])
                if refusal:
                    return refusal
            elif kind == "function_call" and re.fullmatch(r"fc_fake\w+r_\d+", item_id):
                # An item the fake made beside a reasoning item needs that item before it.
                token = item_id[len("fc_fake") :].rsplit("_", 1)[0]
                if not any(i.startswith(f"rs_fake{token}_") for i in ids[:position]):
                    paired = next(
                        (i for i in ids if i.startswith(f"rs_fake{token}_")), f"rs_fake{token}_0"
                    )
                    return _openai_refusal(
                        f"Item '{item_id}' of type 'function_call' was provided without its "
                        f"required 'reasoning' item: '{paired}'.",
                        param="input",
                    )
            elif kind == "function_call_output" and item.get("call_id") not in calls:
                return _openai_refusal(
                    "No tool call found for function call output with call_id "
                    f"{item.get('call_id')}.",
                    param="input",
                )
        return None

    @classmethod
    def _check_reasoning(
        cls, body: dict[str, Any], item: dict[str, Any], item_id: str, after: list[str]
    ) -> HttpError | None:
        encrypted = item.get("encrypted_content")
        if not encrypted:
            if body.get("store") is False:
                return _openai_refusal(
                    f"Item with id '{item_id}' not found. Items are not persisted when `store` is "
                    "set to false. Try again with `store` set to true, or remove this item from "
                    "your input.",
                    param="input",
                )
            return None
        if encrypted != responses_encrypted_content(item_id):
            # The code is the real one; the wording is the fake's own.
            return _openai_refusal(
                f"The encrypted content for item {item_id} could not be verified.",
                code="invalid_encrypted_content",
            )
        if item_id.startswith("rs_fake"):
            token = item_id[len("rs_fake") :].rsplit("_", 1)[0]
            if not after or f"_fake{token}_" not in after[0]:
                return _openai_refusal(
                    f"Item '{item_id}' of type 'reasoning' was provided without its required "
                    "following item.",
                    param="input",
                )
        return None


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
        if self.reasoning:
            start = {"type": "thinking", "thinking": "", "signature": ""}
            yield Frame(
                event({"type": "content_block_start", "index": index, "content_block": start}),
                META,
            )
            for token in self.reasoning:
                delta = {"type": "thinking_delta", "thinking": token}
                yield Frame(
                    event({"type": "content_block_delta", "index": index, "delta": delta}), TOKEN
                )
            # The signature comes just before the block's end, whole.
            signature = anthropic_signature("".join(self.reasoning))
            delta = {"type": "signature_delta", "signature": signature}
            yield Frame(
                event({"type": "content_block_delta", "index": index, "delta": delta}), META
            )
            yield Frame(event({"type": "content_block_stop", "index": index}), META)
            index += 1
        for number in range(self.script.redacted):
            # Redacted thinking arrives whole in its start event; there is no delta for it.
            block = {"type": "redacted_thinking", "data": anthropic_redacted_data(number)}
            yield Frame(
                event({"type": "content_block_start", "index": index, "content_block": block}),
                META,
            )
            yield Frame(event({"type": "content_block_stop", "index": index}), META)
            index += 1
        if self.tokens:
            start = {"type": "text", "text": ""}
            yield Frame(
                event({"type": "content_block_start", "index": index, "content_block": start}),
                META,
            )
            for token in self.tokens:
                delta = {"type": "text_delta", "text": token}
                yield Frame(
                    event({"type": "content_block_delta", "index": index, "delta": delta}), TOKEN
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
            if self.reasoning_tokens is not None:
                details = {"thinking_tokens": self.reasoning_tokens}
                payload["usage"]["output_tokens_details"] = details
        yield Frame(event(payload), TAIL)
        yield Frame(event({"type": "message_stop"}), TAIL)

    def keepalive(self) -> bytes:
        return self._event({"type": "ping"})

    @classmethod
    def refuse(cls, body: dict[str, Any], model: str) -> HttpError | None:
        problem = cls._problem(body, model)
        if problem is None:
            return None
        body = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": problem},
            "request_id": "req_fake",
        }
        return HttpError(400, body, {"request-id": "req_fake"})

    @classmethod
    def _problem(cls, body: dict[str, Any], model: str) -> str | None:
        thinking = body.get("thinking") or {}
        kind = thinking.get("type")
        enabled = kind in ("enabled", "adaptive")
        if kind == "enabled" and re.match(r"claude-(opus|sonnet|haiku)-(4-[7-9]|[5-9])", model):
            return (
                '"thinking.type.enabled" is not supported for this model. Use '
                '"thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
            )
        if kind == "enabled":
            budget = thinking.get("budget_tokens") or 0
            if budget < 1024:
                return (
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            if body.get("max_tokens", 0) <= budget:
                return (
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                    "our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                    "extended-thinking#max-tokens-and-context-window-size"
                )
        if enabled:
            if body.get("temperature", 1) != 1:
                return "`temperature` may only be set to 1 when thinking is enabled."
            if "top_k" in body:
                return "`top_k` must be unset when thinking is enabled."
            if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
                return "Thinking may not be enabled when tool_choice forces tool use."
        messages = body.get("messages") or []
        for i, message in enumerate(messages):
            content = message.get("content")
            if message.get("role") != "assistant" or not isinstance(content, list):
                continue
            for j, block in enumerate(content):
                if block.get("type") == "thinking":
                    for key in ("signature", "thinking"):
                        if key not in block:
                            return f"messages.{i}.content.{j}.thinking.{key}: Field required"
            types = [block.get("type") for block in content]
            if any(t in ("thinking", "redacted_thinking") for t in types) and types[0] not in (
                "thinking",
                "redacted_thinking",
            ):
                return (
                    "If an assistant message contains any thinking blocks, the first block must "
                    f"be thinking or redacted_thinking. Found {types[0]}."
                )
        final = cls._final_assistant(messages)
        if final is None:
            return None
        i = final
        content = messages[i].get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        if not enabled:
            last = messages[-1] if messages else {}
            if last is messages[i] and any(b.get("type") == "thinking" for b in blocks):
                return (
                    "When thinking is disabled, an `assistant` message in the final position "
                    "cannot contain `thinking`."
                )
            return None
        first = blocks[0].get("type") if blocks else "nothing"
        if first not in ("thinking", "redacted_thinking"):
            return (
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
                f"found `{first}`. When `thinking` is enabled, a final `assistant` message must "
                "start with a thinking block (preceeding the lastmost set of `tool_use` and "
                "`tool_result` blocks). We recommend you include thinking blocks from previous "
                "turns. To avoid this requirement, disable `thinking`."
            )
        for j, block in enumerate(blocks):
            if block.get("type") == "thinking" and block.get("signature") != anthropic_signature(
                block.get("thinking", "")
            ):
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
        return None

    @staticmethod
    def _final_assistant(messages: list[dict[str, Any]]) -> int | None:
        """The assistant message thinking rules apply to: the last message, or the one before a
        last user message of tool results (the lastmost tool use and its results)."""
        if not messages:
            return None
        last = len(messages) - 1
        if messages[last].get("role") == "assistant":
            return last
        content = messages[last].get("content")
        results = isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        )
        if results and last > 0 and messages[last - 1].get("role") == "assistant":
            return last - 1
        return None

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
            # candidatesTokenCount leaves the thoughts out; the total has them.
            thoughts = self.reasoning_tokens or 0
            usage["candidatesTokenCount"] = max(0, self.output_tokens - thoughts)
            if self.reasoning_tokens is not None:
                usage["thoughtsTokenCount"] = thoughts
            usage["totalTokenCount"] = self.input_tokens + max(self.output_tokens, thoughts)
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if self.script.usage:
            chunk["usageMetadata"] = usage
        chunk["modelVersion"] = self.model
        chunk["responseId"] = self.response_id
        return self._data(chunk)

    @staticmethod
    def _signs(body: dict[str, Any], model: str) -> bool:
        """Whether answers carry thought signatures: Gemini 3 always, 2.5 when thinking."""
        config = body.get("generationConfig") or {}
        return model.startswith("gemini-3") or "thinkingConfig" in config

    def frames(self) -> Iterator[Frame]:
        self.response_id = f"fake-resp-{int(time.time() * 1000)}"
        signs = self._signs(self.body, self.model) or bool(self.script.reasoning)
        for token in self.reasoning:
            yield Frame(self._chunk([{"text": token, "thought": True}]), TOKEN)
        for token in self.tokens:
            yield Frame(self._chunk([{"text": token}]), TOKEN)
        last: dict[str, Any] = {"text": ""}
        if self.script.tool_calls:
            parts = [
                {"functionCall": {"name": call.name, "args": call.arguments}}
                for call in self.script.tool_calls
            ]
            if signs:  # parallel calls: only the first is signed
                parts[0]["thoughtSignature"] = base64.b64encode(gemini_signature(parts[0])).decode()
            yield Frame(self._chunk(parts), TOOL)
        elif signs:  # no function call: the last part is signed, often an empty one
            last["thoughtSignature"] = base64.b64encode(gemini_signature(last)).decode()
        finish = self._FINISH[self.script.finish_reason()]
        yield Frame(self._chunk([last], finish), TAIL)

    @classmethod
    def refuse(cls, body: dict[str, Any], model: str) -> HttpError | None:
        contents = body.get("contents") or []
        # Only the current turn is checked: everything since the last user text.
        start = 0
        for index, content in enumerate(contents):
            parts = content.get("parts") or []
            if content.get("role", "user") == "user" and any("text" in p for p in parts):
                start = index + 1
        for index in range(start, len(contents)):
            content = contents[index]
            if content.get("role") != "model":
                continue
            calls = [p for p in content.get("parts") or [] if "functionCall" in p]
            first = calls[0] if calls else None
            if (
                first is not None
                and "thoughtSignature" not in first
                and model.startswith("gemini-3")
            ):
                name = first["functionCall"].get("name", "")
                message = (
                    "Function call is missing a thought_signature in functionCall parts. This is "
                    "required for tools to work correctly, and missing thought_signature may "
                    "lead to degraded model performance. Additional data, function call "
                    f"`default_api:{name}` , position {index + 1}. Please refer to "
                    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                )
                return HttpError(400, cls._error(400, message), {})
            for part in content.get("parts") or []:
                if "thoughtSignature" in part and part.get("thought") is not True:
                    if _unbase64(part["thoughtSignature"]) != gemini_signature(part):
                        # The wording is the fake's own.
                        message = f"Thought signature is not valid (content {index})."
                        return HttpError(400, cls._error(400, message), {})
        return None

    def malformed(self) -> bytes:
        return b'data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n'

    @classmethod
    def _error(cls, status: int, message: str, details: list[Any] | None = None) -> dict:
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": cls._STATUS.get(status, "UNKNOWN"),
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
    f.name: f for f in (OpenAIChat, OpenAIResponses, AnthropicMessages, GeminiStream)
}
