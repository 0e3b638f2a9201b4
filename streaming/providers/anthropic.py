"""Anthropic Messages. A trailing assistant message is native prefill: Claude continues it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from streaming.events import (
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    ModelUnavailable,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    UpstreamUnavailable,
    Usage,
)
from streaming.providers import errors
from streaming.providers.base import Provider, ProviderConfig
from streaming.sse import drain, parse_json, server_sent_events

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


def to_anthropic(request: ChatRequest) -> tuple[str, list[dict[str, Any]], bool]:
    """The system prompt, the messages, and whether whitespace was cut off the end of a prefill
    (the API refuses a final assistant turn that ends in whitespace)."""
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
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in m.tool_calls
            ]
        if not blocks:
            continue  # the API refuses empty turns
        # Consecutive tool results (and the user turn after them) share one user message.
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
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


class Translator:
    """Turns the events of one Messages stream into ours, one at a time."""

    def __init__(self, trimmed: bool) -> None:
        self.trimmed = trimmed
        self.tools: dict[int, dict[str, Any]] = {}
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.stop_reason = "end_turn"
        self.done = False

    def content_block_delta(self, payload: dict[str, Any]) -> Event | None:
        delta = payload["delta"]
        if delta["type"] == "text_delta":
            text = delta["text"]
            if self.trimmed:  # the whitespace cut off the prefill is in the answer already
                text, self.trimmed = text.lstrip(), not text.strip()
            return TextDelta(text) if text else None
        if delta["type"] == "thinking_delta":
            return ThinkingDelta(delta["thinking"]) if delta["thinking"] else None
        if delta["type"] == "input_json_delta":
            self.tools[payload["index"]]["json"] += delta["partial_json"]
        return None

    def content_block_start(self, payload: dict[str, Any]) -> None:
        if payload["content_block"]["type"] == "tool_use":
            self.tools[payload["index"]] = {**payload["content_block"], "json": ""}

    def content_block_stop(self, payload: dict[str, Any]) -> Event | None:
        call = self.tools.pop(payload["index"], None)
        if call is None:
            return None
        arguments = parse_json(call["json"] or "{}", "Anthropic (tool input)")
        return ToolCall(call["id"], call["name"], arguments)

    def message_start(self, payload: dict[str, Any]) -> None:
        usage = payload["message"].get("usage") or {}
        self.input_tokens = sum(usage.get(name) or 0 for name in INPUT_FIELDS)
        self.output_tokens = usage.get("output_tokens")

    def message_delta(self, payload: dict[str, Any]) -> None:
        self.stop_reason = payload["delta"].get("stop_reason") or self.stop_reason
        # Counts in message_delta are running totals, not increments.
        usage = payload.get("usage") or {}
        self.output_tokens = usage.get("output_tokens", self.output_tokens)

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
        if self.input_tokens is not None or self.output_tokens is not None:
            ending.append(Usage(self.input_tokens, self.output_tokens))
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
        "error",
    )
}


class AnthropicProvider(Provider):
    name = "anthropic"
    key_env_var = "ANTHROPIC_API_KEY"
    default_models = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.client = anthropic.AsyncAnthropic(
            api_key=config.api_key or "none", base_url=config.base_url or None, max_retries=0
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if not self.config.api_key:
            raise ModelUnavailable(f"Set {self.key_env_var} to use Claude")
        system, messages, trimmed = to_anthropic(request)
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
            "stream": True,
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        translator = Translator(trimmed)
        try:
            async with self.client.messages.with_streaming_response.create(**params) as response:
                events = server_sent_events(response.iter_bytes())
                async for name, data in events:
                    handler = HANDLERS.get(name)  # ping and unknown events are skipped
                    if handler is not None:
                        event = handler(translator, parse_json(data, "Anthropic"))
                        if event is not None:
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
