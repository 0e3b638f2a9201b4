"""OpenAI, and any server that speaks Chat Completions (Ollama, vLLM, llama.cpp, ...).

Which API: ``ProviderConfig.api``, else the Responses API for OpenAI itself (no base URL, or
api.openai.com) and Chat Completions for any other server. The Responses API is in
``openai_responses``; this module is Chat Completions.

A trailing assistant message (continuing a stopped answer) is sent as an assistant message.
Whether the model continues it as a prefix depends on the server: llama.cpp's server does,
vLLM only with ``continue_final_message``, OpenAI itself treats it as a finished turn and
answers anew.

Reasoning, on compatible servers: streamed in a ``reasoning`` or ``reasoning_content`` delta,
or inline in the content as ``<think>…</think>``, which ``streaming.think_tags`` splits out (a
model seen omitting the opening tag, as DeepSeek-R1 does, starts inside reasoning from then on).
Reasoning that came in a field goes back in that field on the turn that called tools
(DeepSeek's thinking mode refuses tool follow-ups without it). ``reasoning_effort`` is not sent
on this path: each server has its own switch for it, and Chat Completions on OpenAI itself
shows no reasoning (use the Responses API).

Files: images go as ``image_url`` parts with a data URL, PDFs as ``file`` parts, before the
text. OpenAI's own vision models see images (``capabilities``); what a compatible server's
models take, its operator says (``MODEL_CAPABILITIES``).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import openai

from streaming.events import (
    ChatMessage,
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    Image,
    ModelUnavailable,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
    ToolSpec,
    UpstreamUnavailable,
    Usage,
)
from streaming.providers import errors
from streaming.providers.base import VISION, Provider, ProviderConfig, sampling
from streaming.providers.openai_responses import ResponsesAPI
from streaming.sse import drain, parse_json, server_sent_events
from streaming.think_tags import ThinkTags
from streaming.transport import for_sdk

APIS = ("responses", "chat_completions")

FINISH_REASONS = {
    "stop": FinishReason.END,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
}


def reasoning_field(message: ChatMessage, model: str) -> dict[str, str]:
    """The reasoning a compatible server streamed for this turn, in the field it came in."""
    state = message.reasoning
    if state is None or state.provider != "openai" or state.model != model:
        return {}
    field = state.data.get("field")
    return {field: state.data.get("text", "")} if field else {}


def to_openai(request: ChatRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "tool":
            messages.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.tool_calls:
            calls = [
                {"id": c.id, "type": "function", "function": function(c)} for c in m.tool_calls
            ]
            messages.append(
                {
                    "role": "assistant",
                    "content": m.content or None,
                    **reasoning_field(m, request.model),
                    "tool_calls": calls,
                }
            )
        elif m.attachments:
            messages.append({"role": m.role, "content": content_parts(m)})
        else:
            messages.append({"role": m.role, "content": m.content})
    return messages


def content_parts(message: ChatMessage) -> list[dict[str, Any]]:
    """A message with files as content parts: the files first, then its text."""
    parts: list[dict[str, Any]] = []
    for item in message.attachments:
        if isinstance(item, Image):
            parts.append({"type": "image_url", "image_url": {"url": item.data_url()}})
        else:
            file = {"filename": item.name, "file_data": item.data_url()}
            parts.append({"type": "file", "file": file})
    if message.content:
        parts.append({"type": "text", "text": message.content})
    return parts


def function(item: ToolCall | ToolSpec) -> dict[str, Any]:
    if isinstance(item, ToolCall):
        return {"name": item.name, "arguments": json.dumps(item.arguments)}
    return {"name": item.name, "description": item.description, "parameters": item.parameters}


# OpenAI's models that see images, by the start of their names; of these, the small o1 and
# o3 models see none.
VISION_FAMILIES = ("gpt-4o", "gpt-4.1", "gpt-4-turbo", "gpt-4.5", "gpt-5", "o1", "o3", "o4")
BLIND = ("o1-mini", "o1-preview", "o3-mini")


def sees_images(model: str) -> bool:
    name = model.rsplit("/", 1)[-1].lower()
    return name.startswith(VISION_FAMILIES) and not name.startswith(BLIND)


# Hosts that name this machine: a compatible server there is "the local server".
LOOPBACK = ("localhost", "::1", "0.0.0.0")


class Translator:
    """Turns the chunks of one completion stream into our events. Tool calls arrive as
    fragments keyed by ``index`` (several calls in parallel) and are yielded whole at the end."""

    def __init__(self, model: str = "", tags: ThinkTags | None = None) -> None:
        self.model = model
        self.tags = tags  # splits inline <think> blocks out of the content
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False
        self.field = ""  # the delta field reasoning came in
        self.reasoning: list[str] = []

    def content(self, text: str) -> list[Event]:
        if self.field:  # reasoning came apart: the content is only the answer
            self.tags = None
        if self.tags is None:
            return [TextDelta(text)]
        return list(self.tags.feed(text))

    def close_tags(self) -> list[Event]:
        """A tool call or the end closes an open inline block."""
        tags, self.tags = self.tags, None
        return list(tags.end()) if tags is not None else []

    def chunk(self, chunk: dict[str, Any]) -> list[Event]:
        if chunk.get("error"):
            error = chunk["error"] if isinstance(chunk["error"], dict) else {"message": chunk}
            kind = str(error.get("type") or error.get("code") or "")
            raise errors.error_for_type(kind, error.get("message", ""), provider="OpenAI")
        self.usage = chunk.get("usage") or self.usage
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            # Reasoning servers stream it in one of these (vLLM renamed the first to the second,
            # and sent both for a while: one is read).
            for field in ("reasoning", "reasoning_content"):
                if thought := delta.get(field):
                    self.field = self.field or field
                    self.reasoning.append(thought)
                    events.append(ReasoningDelta(thought))
                    break
            if text := delta.get("content"):
                events += self.content(text)
            if delta.get("tool_calls"):
                events += self.close_tags()
            for fragment in delta.get("tool_calls") or ():
                call = self.calls.setdefault(fragment.get("index", 0), {"arguments": ""})
                function = fragment.get("function") or {}
                call["id"] = call.get("id") or fragment.get("id")
                call["name"] = call.get("name") or function.get("name")
                call["arguments"] += function.get("arguments") or ""
            self.finish = choice.get("finish_reason") or self.finish
        return events

    def end(self) -> list[Event]:
        if not self.done and self.finish is None:
            raise UpstreamUnavailable("OpenAI closed the stream before the answer was finished")
        events: list[Event] = self.close_tags()
        for index, call in sorted(self.calls.items()):
            arguments = parse_json(call["arguments"] or "{}", "OpenAI (tool arguments)")
            events.append(ToolCall(call["id"] or f"call_{index}", call["name"] or "", arguments))
        if self.calls and self.field:
            data = {"field": self.field, "text": "".join(self.reasoning)}
            events.append(ReasoningState("openai", self.model, data, across_turns=True))
        if self.usage:  # some compatible servers never send it
            details = self.usage.get("completion_tokens_details") or {}
            events.append(
                Usage(
                    self.usage.get("prompt_tokens"),
                    self.usage.get("completion_tokens"),
                    details.get("reasoning_tokens"),
                )
            )
        # Some compatible servers say "stop" even when the turn ends in tool calls.
        reason = FINISH_REASONS.get(self.finish or "stop", FinishReason.END)
        events.append(Finish(FinishReason.TOOL_CALLS if self.calls else reason))
        return events


class OpenAIProvider(Provider):
    name = "openai"
    title = "OpenAI"
    key_env_var = "OPENAI_API_KEY"
    default_models = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1", "gpt-4o")

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        # A compatible server (Ollama, vLLM) needs no key, but the SDK refuses to start without.
        transport = for_sdk()
        self.client = openai.AsyncOpenAI(
            api_key=config.api_key or "none",
            base_url=config.base_url or None,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(transport=transport) if transport else None,
        )
        # OpenAI's reasoning models refuse ``max_tokens``; most compatible servers only know it.
        official = not config.base_url or "api.openai.com" in config.base_url
        self.official = official
        self.max_tokens_field = "max_completion_tokens" if official else "max_tokens"
        self.api = config.api or ("responses" if official else "chat_completions")
        if self.api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, not {self.api!r}")
        self.responses = ResponsesAPI(self.client)
        # Only other servers' content may hold <think> blocks.
        self.split_tags = not official
        self.starts_in_reasoning: set[str] = set()  # models seen omitting the opening tag

    @property
    def display_name(self) -> str:
        if self.config.display_name or self.official:
            return super().display_name
        host = urlsplit(self.config.base_url).hostname or ""
        if host in LOOPBACK or host.startswith("127."):
            return "the local server"
        return f"the server at {host}" if host else "the OpenAI-compatible server"

    def capabilities(self, model: str) -> frozenset[str]:
        # What a compatible server's models take is not known: its operator says
        # (MODEL_CAPABILITIES).
        return frozenset({VISION}) if self.official and sees_images(model) else frozenset()

    def image_tokens(self, width: int, height: int) -> int:
        """OpenAI's count at high detail: the image fitted within 2048 x 2048, its shortest
        side scaled down to 768, then 170 per 512-pixel tile and 85 besides."""
        scale = min(1.0, 2048 / max(width, height, 1))
        scale *= min(1.0, 768 / max(min(width, height) * scale, 1))
        tiles = math.ceil(width * scale / 512) * math.ceil(height * scale / 512)
        return 85 + 170 * tiles

    def takes_reasoning_effort(self, model: str) -> bool:
        # Chat Completions sends no effort; the Responses API does, unless the model refused it.
        return self.api == "responses" and model not in self.responses.plain

    def adapt(self, request: ChatRequest) -> tuple[ChatRequest, tuple[str, ...]]:
        if self.api == "responses":
            return self.responses.adapt(request)
        if self.official:
            return ResponsesAPI.adapt_reasoning_family(request)
        return request, ()

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if not self.config.api_key and not self.config.base_url:
            raise ModelUnavailable(f"Set {self.key_env_var} (or OPENAI_BASE_URL) to use OpenAI")
        if self.api == "responses":
            async for event in self.responses.stream(request):
                yield event
            return
        async for event in self._chat_completions(request):
            yield event

    async def _chat_completions(self, request: ChatRequest) -> AsyncIterator[Event]:
        request, _ = self.adapt(request)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": to_openai(request),
            "stream": True,
            "stream_options": {"include_usage": True},
            self.max_tokens_field: request.max_tokens,
            **sampling(request),
        }
        if request.tools:
            params["tools"] = [{"type": "function", "function": function(t)} for t in request.tools]
        tags = None
        if self.split_tags:
            # A continued answer goes on with the answer, never inside reasoning.
            continuing = bool(request.messages) and request.messages[-1].role == "assistant"
            inside = request.model in self.starts_in_reasoning and not continuing
            tags = ThinkTags(starts_in_reasoning=inside)
        translator = Translator(request.model, tags)
        try:
            create = self.client.chat.completions.with_streaming_response.create
            async with create(**params) as response:
                events = server_sent_events(response.iter_bytes())
                async for _, data in events:
                    if data.startswith("[DONE]"):
                        translator.done = True
                        await drain(events)
                        break
                    for event in translator.chunk(parse_json(data, "OpenAI")):
                        yield event
        except openai.APIStatusError as exc:
            raise errors.from_status_error(exc, provider="OpenAI") from exc
        except (openai.APIConnectionError, *errors.TRANSPORT_ERRORS) as exc:
            raise errors.connection_lost(exc, provider="OpenAI") from exc
        for event in translator.end():
            yield event
        if tags is not None and tags.lone_close:
            self.starts_in_reasoning.add(request.model)
        elif tags is not None and tags.starts_in_reasoning and not tags.closed:
            self.starts_in_reasoning.discard(request.model)  # it stopped doing so

    async def aclose(self) -> None:
        await self.client.close()
