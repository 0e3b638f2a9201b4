"""Anthropic Messages. A trailing assistant message is native prefill: Claude continues it.

Extended thinking follows the request's ``reasoning_effort``: ``low`` / ``medium`` / ``high``
enable it with a budget of ``BUDGETS[effort]`` tokens, and ``max_tokens`` becomes the answer's
own ``max_tokens`` plus the budget (the API wants it above the budget, and counts thinking in
it). Thinking forbids changing ``temperature``, ``top_k`` (and ``top_p`` below 0.95) and
forcing a tool: a request's ``temperature`` (or low ``top_p``) is then left out, with a note
(``AnthropicProvider.adapt``); ``top_k`` and forcing a tool are never sent. Models that no
longer take a budget (the API answers ``"thinking.type.enabled" is not supported``) get
adaptive thinking with the effort instead, from then on. Thinking stays off where the API
would refuse it:

- continuing an answer (prefill: the final assistant turn would have to start with thinking);
- a tool loop whose last assistant turn carries no thinking blocks (thinking was switched on
  mid-loop, or the turn came from another model).

``thinking_delta`` text is reasoning; ``signature_delta`` completes its block;
``redacted_thinking`` blocks (and thinking whose text the API omits) are reasoning hidden by
the provider. The blocks are the turn's ``ReasoningState`` and go back unmodified, first in the
assistant turn, whenever thinking is on; a block cut off before its signature is dropped.

Files go as base64 ``image`` and ``document`` blocks before the text, as Anthropic advises.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from streaming.events import (
    BadRequest,
    ChatMessage,
    ChatRequest,
    Document,
    Event,
    Finish,
    FinishReason,
    Image,
    KeepAlive,
    ModelUnavailable,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
    UpstreamUnavailable,
    Usage,
)
from streaming.providers import errors
from streaming.providers.base import (
    PDF,
    VISION,
    Provider,
    ProviderConfig,
    sampling,
    without_sampling,
)
from streaming.sse import drain, parse_json, server_sent_events
from streaming.transport import for_sdk

STOP_REASONS = {
    "end_turn": FinishReason.END,
    "stop_sequence": FinishReason.END,
    "pause_turn": FinishReason.END,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}
INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}  # 1024 is the API's minimum
REASONING = ("thinking", "redacted_thinking")
# With extended thinking, top_p may be set from this up to 1 (and temperature not at all).
MIN_THINKING_TOP_P = 0.95
LONGEST_SIDE = 1568  # Claude scales a larger image down to this first
KEEPALIVE_AFTER = 1.0  # a ping is passed on as KeepAlive after this many silent seconds


def thinking_blocks(message: ChatMessage, model: str) -> list[dict[str, Any]]:
    """The turn's own thinking blocks, as they came (not another provider's or model's)."""
    state = message.reasoning
    if state is None or state.provider != "anthropic" or state.model != model:
        return []
    return [dict(block) for block in state.data.get("blocks") or ()]


def file_block(item: Image | Document) -> dict[str, Any]:
    source = {"type": "base64", "media_type": item.media_type, "data": item.base64()}
    if isinstance(item, Image):
        return {"type": "image", "source": source}
    return {"type": "document", "source": source, "title": item.name}


def to_anthropic(
    request: ChatRequest, *, thinking: bool = False
) -> tuple[str, list[dict[str, Any]], bool]:
    """The system prompt, the messages, and whether whitespace was cut off the end of a prefill
    (the API refuses a final assistant turn that ends in whitespace). With ``thinking``,
    assistant turns start with their thinking blocks."""
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            role = "user"
            blocks = [{"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}]
        else:
            role = "assistant" if m.role == "assistant" else "user"
            blocks = [file_block(item) for item in m.attachments]  # before text, as advised
            blocks += [{"type": "text", "text": m.content}] if m.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in m.tool_calls
            ]
            if thinking and role == "assistant" and blocks:  # never a turn of thinking alone
                blocks = thinking_blocks(m, request.model) + blocks
        if not blocks:
            continue  # the API refuses empty turns
        # Consecutive tool results (and the user turn after them) share one user message.
        if messages and messages[-1]["role"] == role:
            # Thinking may only start a turn, never follow text within it.
            messages[-1]["content"].extend(b for b in blocks if b["type"] not in REASONING)
        else:
            messages.append({"role": role, "content": blocks})
    trimmed = False
    last = messages[-1] if messages else None
    if last and last["role"] == "assistant" and last["content"][-1]["type"] == "text":
        text = last["content"][-1]["text"]
        last["content"][-1]["text"], trimmed = text.rstrip(), text != text.rstrip()
        if not text.strip():
            messages.pop()
    return system, messages, trimmed


def plain_text(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with each turn of one text block alone sent as a plain string, as the API
    allows: some proxies in front of compatible servers turn a list of blocks into an empty
    answer. Turns with tool uses or results, thinking, or several blocks keep their blocks."""
    plain = []
    for message in messages:
        blocks = message["content"]
        if (
            len(blocks) == 1
            and blocks[0].keys() == {"type", "text"}
            and blocks[0]["type"] == "text"
        ):
            message = {**message, "content": blocks[0]["text"]}
        plain.append(message)
    return plain


def loop_without_thinking(messages: list[dict[str, Any]]) -> bool:
    """Whether the conversation ends in tool results whose assistant turn has no thinking
    first: the API then refuses thinking ("a final assistant message must start with a
    thinking block")."""
    if len(messages) < 2 or messages[-1]["role"] != "user":
        return False
    if not any(block["type"] == "tool_result" for block in messages[-1]["content"]):
        return False
    turn = messages[-2]
    return turn["role"] == "assistant" and turn["content"][0]["type"] not in REASONING


class Translator:
    """Turns the events of one Messages stream into ours, one at a time."""

    def __init__(self, trimmed: bool, model: str = "") -> None:
        self.trimmed = trimmed
        self.model = model
        self.tools: dict[int, dict[str, Any]] = {}
        self.thinking: dict[int, dict[str, Any]] = {}  # blocks being streamed
        self.blocks: list[dict[str, Any]] = []  # finished, signed blocks, in order
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.thinking_tokens: int | None = None
        self.stop_reason = "end_turn"
        self.done = False
        self.heard = time.monotonic()

    def content_block_delta(self, payload: dict[str, Any]) -> Event | None:
        delta = payload["delta"]
        if delta["type"] == "text_delta":
            text = delta["text"]
            if self.trimmed:  # the whitespace cut off the prefill is in the answer already
                text, self.trimmed = text.lstrip(), not text.strip()
            return TextDelta(text) if text else None
        if delta["type"] == "thinking_delta":
            self._thinking(payload["index"])["thinking"] += delta["thinking"]
            return ReasoningDelta(delta["thinking"]) if delta["thinking"] else None
        if delta["type"] == "signature_delta":
            # Whole, just before the block ends; a second one replaces it (as the SDK does).
            self._thinking(payload["index"])["signature"] = delta["signature"]
        if delta["type"] == "input_json_delta":
            self.tools[payload["index"]]["json"] += delta["partial_json"]
        return None

    def _thinking(self, index: int) -> dict[str, Any]:
        return self.thinking.setdefault(
            index, {"type": "thinking", "thinking": "", "signature": ""}
        )

    def content_block_start(self, payload: dict[str, Any]) -> Event | None:
        block = payload["content_block"]
        if block["type"] == "tool_use":
            self.tools[payload["index"]] = {**block, "json": ""}
        elif block["type"] == "thinking":
            self.thinking[payload["index"]] = {
                "type": "thinking",
                "thinking": block.get("thinking") or "",
                "signature": block.get("signature") or "",
            }
            return ReasoningDelta("")  # thinking has begun
        elif block["type"] == "redacted_thinking":
            self.blocks.append(dict(block))  # whole in its start event: no delta exists
            return ReasoningDelta("", redacted=True)
        return None

    def content_block_stop(self, payload: dict[str, Any]) -> Event | None:
        block = self.thinking.pop(payload["index"], None)
        if block is not None:
            if block["signature"]:  # an unsigned block cannot be sent back
                self.blocks.append(block)
            if not block["thinking"]:  # the API omitted the text (display: omitted)
                return ReasoningDelta("", redacted=True)
            return None
        call = self.tools.pop(payload["index"], None)
        if call is None:
            return None
        arguments = parse_json(call["json"] or "{}", "Anthropic (tool input)")
        return ToolCall(call["id"], call["name"], arguments)

    def ping(self, payload: dict[str, Any]) -> Event | None:
        # Passed on only after a silence, so that a stream is not full of them.
        return KeepAlive() if time.monotonic() - self.heard >= KEEPALIVE_AFTER else None

    def message_start(self, payload: dict[str, Any]) -> None:
        usage = payload["message"].get("usage") or {}
        self.input_tokens = sum(usage.get(name) or 0 for name in INPUT_FIELDS)
        self.output_tokens = usage.get("output_tokens")

    def message_delta(self, payload: dict[str, Any]) -> None:
        self.stop_reason = payload["delta"].get("stop_reason") or self.stop_reason
        # Counts in message_delta are running totals, not increments.
        usage = payload.get("usage") or {}
        self.output_tokens = usage.get("output_tokens", self.output_tokens)
        details = usage.get("output_tokens_details") or {}
        self.thinking_tokens = details.get("thinking_tokens", self.thinking_tokens)

    def message_stop(self, payload: dict[str, Any]) -> None:
        self.done = True

    def error(self, payload: dict[str, Any]) -> None:
        error = payload.get("error") or {}
        raise errors.error_for_type(
            error.get("type", ""), error.get("message", ""), provider="Anthropic"
        )

    def end(self) -> list[Event]:
        if not self.done:
            raise UpstreamUnavailable("Anthropic closed the stream before the answer was finished")
        ending: list[Event] = []
        if self.blocks:
            ending.append(ReasoningState("anthropic", self.model, {"blocks": self.blocks}))
        if self.input_tokens is not None or self.output_tokens is not None:
            ending.append(Usage(self.input_tokens, self.output_tokens, self.thinking_tokens))
        ending.append(Finish(STOP_REASONS.get(self.stop_reason, FinishReason.END)))
        return ending


HANDLERS = {
    name: getattr(Translator, name)
    for name in (
        "content_block_delta",
        "content_block_start",
        "content_block_stop",
        "message_start",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    )
}


def needs_adaptive(error: BadRequest) -> bool:
    return '"thinking.type.enabled" is not supported' in error.message


class AnthropicProvider(Provider):
    name = "anthropic"
    title = "Anthropic"
    key_env_var = "ANTHROPIC_API_KEY"
    default_models = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        transport = for_sdk()
        self.client = anthropic.AsyncAnthropic(
            api_key=config.api_key or "none",
            base_url=config.base_url or None,
            max_retries=0,
            http_client=anthropic.DefaultAsyncHttpxClient(transport=transport)
            if transport
            else None,
        )
        self.adaptive: set[str] = set()  # models that refused a thinking budget

    def capabilities(self, model: str) -> frozenset[str]:
        return frozenset({VISION, PDF})

    def image_tokens(self, width: int, height: int) -> int:
        """Claude's count: a token per 750 pixels, once the longest side is at most 1568."""
        scale = min(1.0, LONGEST_SIDE / max(width, height, 1))
        return math.ceil(width * scale * height * scale / 750)

    def takes_reasoning_effort(self, model: str) -> bool:
        return True

    def thinks(self, request: ChatRequest) -> bool:
        """Whether ``request`` is sent with extended thinking on."""
        continuing = bool(request.messages) and request.messages[-1].role == "assistant"
        if request.reasoning_effort == "off" or continuing:
            return False
        _, messages, _ = to_anthropic(request, thinking=True)
        return not loop_without_thinking(messages)

    def adapt(self, request: ChatRequest) -> tuple[ChatRequest, tuple[str, ...]]:
        """With extended thinking the API takes temperature 1 only (it is left out) and top_p
        from 0.95 (one below is left out); Claude takes temperature or top_p, not both (top_p
        is left out)."""
        if self.thinks(request):
            top_p = request.top_p is not None and request.top_p < MIN_THINKING_TOP_P
            reason = f"{request.model} with extended thinking needs 1"
            request, notes = without_sampling(request, reason, top_p=False)
            if top_p:
                reason = f"{request.model} with extended thinking needs at least 0.95"
                request, more = without_sampling(request, reason, temperature=False)
                notes += more
            if request.temperature is None or request.top_p is None:
                return request, notes
        else:
            notes = ()
        if request.temperature is not None and request.top_p is not None:
            reason = f"{request.model} takes temperature or top_p, not both"
            request, more = without_sampling(request, reason, temperature=False)
            notes += more
        return request, notes

    def params(self, request: ChatRequest) -> tuple[dict[str, Any], bool]:
        """The request's parameters, and whether whitespace was cut off a prefill."""
        request, _ = self.adapt(request)
        thinking = self.thinks(request)
        system, messages, trimmed = to_anthropic(request, thinking=thinking)
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": plain_text(messages),
            "stream": True,
        }
        if values := sampling(request):
            # The SDK names no sampling parameters any more; the API takes them in the body.
            params["extra_body"] = values
        if thinking:
            budget = BUDGETS[request.reasoning_effort]
            params["max_tokens"] += budget
            if request.model in self.adaptive:
                params["thinking"] = {"type": "adaptive", "display": "summarized"}
                params["output_config"] = {"effort": request.reasoning_effort}
            else:
                params["thinking"] = {
                    "type": "enabled",
                    "budget_tokens": budget,
                    "display": "summarized",
                }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        return params, trimmed

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if not self.config.api_key:
            raise ModelUnavailable(f"Set {self.key_env_var} to use Claude")
        while True:
            params, trimmed = self.params(request)
            translator = Translator(trimmed, request.model)
            yielded = False
            try:
                async for event in self._send(params, translator):
                    yielded = True
                    yield event
            except BadRequest as error:
                # Refused before anything streamed: ask again the way this model wants.
                adaptive = params.get("thinking", {}).get("type") == "adaptive"
                if yielded or adaptive or "thinking" not in params or not needs_adaptive(error):
                    raise
                self.adaptive.add(request.model)
                continue
            return

    async def _send(self, params: dict[str, Any], translator: Translator) -> AsyncIterator[Event]:
        try:
            async with self.client.messages.with_streaming_response.create(**params) as response:
                events = server_sent_events(response.iter_bytes())
                async for name, data in events:
                    handler = HANDLERS.get(name)  # unknown events are skipped
                    if handler is not None:
                        event = handler(translator, parse_json(data, "Anthropic"))
                        if event is not None:
                            translator.heard = time.monotonic()
                            yield event
                        if translator.done:
                            await drain(events)
                            break
        except anthropic.APIStatusError as exc:
            raise errors.from_status_error(exc, provider="Anthropic") from exc
        except (anthropic.APIConnectionError, *errors.TRANSPORT_ERRORS) as exc:
            raise errors.connection_lost(exc, provider="Anthropic") from exc
        for event in translator.end():
            yield event

    async def aclose(self) -> None:
        await self.client.close()
