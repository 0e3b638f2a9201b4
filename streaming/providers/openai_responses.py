"""OpenAI's Responses API: how OpenAI's own models are asked, reasoning included.

Chat Completions returns no reasoning at all; the Responses API streams a summary of it. With
``reasoning_effort`` ``low`` / ``medium`` / ``high`` the request carries ``reasoning:
{"effort": ..., "summary": "auto"}`` and, since nothing is stored on OpenAI's side (``store:
false``), ``include: ["reasoning.encrypted_content"]``: the encrypted reasoning items come back
in the turn's ``ReasoningState`` and are sent back, before the turn's function calls, in tool
loops. ``max_output_tokens`` counts reasoning, so the effort's ``ALLOWANCES`` is added to the
answer's own limit. ``off`` sends no reasoning settings. A model that refuses them (not a
reasoning model: "Unsupported parameter: 'reasoning.effort'") is asked again without them, and
from then on.

OpenAI's reasoning models refuse ``temperature`` and ``top_p``: they are left out (with a note,
``ResponsesAPI.adapt``) for the o-series and gpt-5, and for any model asked to reason.

Reasoning summary deltas (and raw ``reasoning_text`` deltas, from servers that send them) are
reasoning; separate summary parts are joined by a blank line. A trailing assistant message is
sent as an assistant message: OpenAI treats it as a finished turn and answers anew.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai

from streaming.events import (
    BadRequest,
    ChatMessage,
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    Image,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
    UpstreamUnavailable,
    Usage,
)
from streaming.providers import errors
from streaming.providers.base import sampling, without_sampling
from streaming.sse import drain, parse_json, server_sent_events

ALLOWANCES = {"low": 4096, "medium": 16384, "high": 32768}
INCOMPLETE = {
    "max_output_tokens": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
}
TERMINAL = ("response.completed", "response.incomplete")


def assistant_items(message: ChatMessage, model: str) -> list[dict[str, Any]]:
    """An assistant turn as input items: as its output came, in order and by id, when its
    ``ReasoningState`` is from this model (reasoning items verbatim, the text and calls in
    between); else its text and function calls alone."""
    text, calls = message.content, list(message.tool_calls)
    state = message.reasoning
    entries: list[dict[str, Any]] = []
    if state is not None and state.provider == "openai" and state.model == model:
        entries = list(state.data.get("items") or ())
    items: list[dict[str, Any]] = []
    messages = [e for e in entries if e["type"] == "message"]
    exact = sum(e["chars"] for e in messages) == len(text)
    position = 0
    for entry in entries:
        if entry["type"] == "reasoning":
            items.append(dict(entry["item"]))
        elif entry["type"] == "message":
            size = entry["chars"] if exact else (len(text) if entry is messages[0] else 0)
            piece, position = text[position : position + size], position + size
            if piece:
                part = {"type": "output_text", "text": piece, "annotations": []}
                items.append(
                    {
                        "type": "message",
                        "role": "assistant",
                        "id": entry["id"],
                        "status": "completed",
                        "content": [part],
                    }
                )
        elif entry["type"] == "function_call":
            call = next((c for c in calls if c.id == entry["call_id"]), None)
            if call is not None:
                calls.remove(call)
                items.append({**function_call(call, entry["arguments"]), "id": entry["id"]})
    if not messages and text:
        items.insert(len([i for i in items if i["type"] == "reasoning"]), easy(text))
    return items + [function_call(c) for c in calls]


def easy(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def function_call(call: ToolCall, arguments: str = "") -> dict[str, Any]:
    """A function call item; its original ``arguments`` text when it still says the same."""
    try:
        same = bool(arguments) and json.loads(arguments) == call.arguments
    except ValueError:
        same = False
    return {
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments if same else json.dumps(call.arguments),
    }


def to_responses(request: ChatRequest) -> tuple[str, list[dict[str, Any]]]:
    """The instructions (system messages) and the input items."""
    instructions = "\n\n".join(m.content for m in request.messages if m.role == "system")
    items: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "tool":
            items.append(
                {"type": "function_call_output", "call_id": m.tool_call_id, "output": m.content}
            )
        elif m.role == "assistant":
            items += assistant_items(m, request.model)
        elif m.role == "user" and m.attachments:
            items.append({"role": "user", "content": input_parts(m)})
        elif m.role == "user":
            items.append({"role": "user", "content": m.content})
    return instructions, items


def input_parts(message: ChatMessage) -> list[dict[str, Any]]:
    """A user message with files as input parts: the files first, then its text."""
    parts: list[dict[str, Any]] = []
    for item in message.attachments:
        if isinstance(item, Image):
            # The SDK's types require a detail; auto is the API's own default.
            parts.append({"type": "input_image", "image_url": item.data_url(), "detail": "auto"})
        else:
            parts.append(
                {"type": "input_file", "filename": item.name, "file_data": item.data_url()}
            )
    if message.content:
        parts.append({"type": "input_text", "text": message.content})
    return parts


def refuses_reasoning(error: BadRequest) -> bool:
    text = error.message.lower()
    unsupported = "not supported" in text or "unsupported" in text
    return unsupported and ("reasoning" in text or "encrypted content" in text)


class Translator:
    """Turns the events of one Responses stream into ours, one at a time."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.items: list[dict[str, Any]] = []  # the turn's output, for the ReasoningState
        self.encrypted = False
        self.calls = 0
        self.usage: dict[str, Any] | None = None
        self.finish = FinishReason.END
        self.done = False
        self.reasoned = False  # reasoning text came already
        self.separate = False  # the next reasoning text starts a new part

    def event(self, payload: dict[str, Any]) -> Event | None:
        kind = payload.get("type", "")
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            text = payload.get("delta") or ""
            if not text:
                return None
            if self.separate:
                text, self.separate = "\n\n" + text, False
            self.reasoned = True
            return ReasoningDelta(text)
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return TextDelta(payload["delta"]) if payload.get("delta") else None
        if kind == "response.reasoning_summary_part.added":
            self.separate = self.reasoned
            return None
        if kind == "response.output_item.added":
            if (payload.get("item") or {}).get("type") == "reasoning":
                self.separate = self.reasoned
                return ReasoningDelta("")  # reasoning has begun
            return None
        if kind == "response.output_item.done":
            return self.item_done(payload.get("item") or {})
        if kind in TERMINAL:
            response = payload.get("response") or {}
            self.usage = response.get("usage") or self.usage
            if kind == "response.incomplete":
                reason = (response.get("incomplete_details") or {}).get("reason", "")
                self.finish = INCOMPLETE.get(reason, FinishReason.LENGTH)
            self.done = True
            return None
        if kind == "response.failed":
            error = (payload.get("response") or {}).get("error") or {}
            raise errors.error_for_type(
                str(error.get("code") or ""), error.get("message", ""), provider="OpenAI"
            )
        if kind == "error" or isinstance(payload.get("error"), dict):
            # Recorded streams nest the error; the SDK's type has it flat.
            error = payload["error"] if isinstance(payload.get("error"), dict) else payload
            code = str(error.get("type") or error.get("code") or "")
            raise errors.error_for_type(code, error.get("message", ""), provider="OpenAI")
        return None

    def item_done(self, item: dict[str, Any]) -> Event | None:
        kind = item.get("type")
        if kind == "reasoning":
            if item.get("encrypted_content"):  # the final one: the added event's may be cut
                self.items.append({"type": "reasoning", "item": item})
                self.encrypted = True
        elif kind == "message":
            chars = sum(
                len(part.get("text") or part.get("refusal") or "")
                for part in item.get("content") or ()
            )
            self.items.append({"type": "message", "id": item.get("id", ""), "chars": chars})
        elif kind == "function_call":
            arguments = item.get("arguments") or "{}"
            call_id = item.get("call_id") or item.get("id") or f"call_{self.calls}"
            self.items.append(
                {
                    "type": "function_call",
                    "id": item.get("id", ""),
                    "call_id": call_id,
                    "arguments": arguments,
                }
            )
            self.calls += 1
            parsed = parse_json(arguments, "OpenAI (tool arguments)")
            return ToolCall(call_id, item.get("name") or "", parsed)
        return None

    def end(self) -> list[Event]:
        if not self.done:
            raise UpstreamUnavailable("OpenAI closed the stream before the answer was finished")
        events: list[Event] = []
        if self.encrypted:
            events.append(ReasoningState("openai", self.model, {"items": self.items}))
        if self.usage:
            details = self.usage.get("output_tokens_details") or {}
            events.append(
                Usage(
                    self.usage.get("input_tokens"),
                    self.usage.get("output_tokens"),
                    details.get("reasoning_tokens"),
                )
            )
        finish = self.finish
        if self.calls and finish == FinishReason.END:
            finish = FinishReason.TOOL_CALLS
        events.append(Finish(finish))
        return events


# OpenAI's reasoning models, by the start of their names: they refuse temperature and top_p.
REASONING_FAMILIES = ("o1", "o3", "o4", "gpt-5")


def reasoning_family(model: str) -> bool:
    name = model.rsplit("/", 1)[-1].lower()
    return name.startswith(REASONING_FAMILIES) and not name.startswith("gpt-5-chat")


class ResponsesAPI:
    """The Responses API half of ``OpenAIProvider``: same client, same errors."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self.client = client
        self.plain: set[str] = set()  # models that refused reasoning settings

    @staticmethod
    def adapt_reasoning_family(request: ChatRequest) -> tuple[ChatRequest, tuple[str, ...]]:
        if reasoning_family(request.model):
            return without_sampling(request, f"{request.model} is a reasoning model")
        return request, ()

    def adapt(self, request: ChatRequest) -> tuple[ChatRequest, tuple[str, ...]]:
        """Reasoning models take no sampling parameters: the o-series and gpt-5 never, any
        other model not while it is asked to reason."""
        if request.reasoning_effort != "off" and request.model not in self.plain:
            reason = f"{request.model} with reasoning effort {request.reasoning_effort}"
            return without_sampling(request, reason)
        return self.adapt_reasoning_family(request)

    def params(self, request: ChatRequest) -> dict[str, Any]:
        request, _ = self.adapt(request)
        instructions, items = to_responses(request)
        params: dict[str, Any] = {
            "model": request.model,
            "input": items,
            "stream": True,
            "store": False,
            "max_output_tokens": request.max_tokens,
            **sampling(request),
        }
        if instructions:
            params["instructions"] = instructions
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": False,  # strict mode would demand a closed schema
                }
                for t in request.tools
            ]
        effort = request.reasoning_effort
        if effort != "off" and request.model not in self.plain:
            params["reasoning"] = {"effort": effort, "summary": "auto"}
            params["include"] = ["reasoning.encrypted_content"]
            params["max_output_tokens"] += ALLOWANCES[effort]
        return params

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        while True:
            params = self.params(request)
            yielded = False
            try:
                async for event in self._send(params, Translator(request.model)):
                    yielded = True
                    yield event
            except BadRequest as error:
                if yielded or "reasoning" not in params or not refuses_reasoning(error):
                    raise
                self.plain.add(request.model)  # not a reasoning model: ask it plainly
                continue
            return

    async def _send(self, params: dict[str, Any], translator: Translator) -> AsyncIterator[Event]:
        try:
            async with self.client.responses.with_streaming_response.create(**params) as response:
                events = server_sent_events(response.iter_bytes())
                async for _, data in events:
                    event = translator.event(parse_json(data, "OpenAI"))
                    if event is not None:
                        yield event
                    if translator.done:
                        await drain(events)
                        break
        except openai.APIStatusError as exc:
            raise errors.from_status_error(exc, provider="OpenAI") from exc
        except (openai.APIConnectionError, *errors.TRANSPORT_ERRORS) as exc:
            raise errors.connection_lost(exc, provider="OpenAI") from exc
        for event in translator.end():
            yield event
