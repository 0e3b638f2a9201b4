"""Google Gemini through ``google-genai``.

The SDK's async stream does not close its HTTP response when the generator is closed (only at
garbage collection), but cancelling the task
that iterates it does. So the SDK stream is consumed in a task of its own, cancelled the moment
our generator is closed or cancelled, and events reach us through a queue.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from streaming.events import (
    AuthenticationFailed,
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    MalformedStream,
    ModelUnavailable,
    ProviderError,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    UpstreamUnavailable,
    Usage,
)
from streaming.providers import errors
from streaming.providers.base import Provider, ProviderConfig

_END = object()
_ids = itertools.count(1)
FINISH_REASONS = {
    "STOP": FinishReason.END,
    "MAX_TOKENS": FinishReason.LENGTH,
    "FINISH_REASON_UNSPECIFIED": FinishReason.END,
    "MALFORMED_FUNCTION_CALL": FinishReason.ERROR,
    "UNEXPECTED_TOOL_CALL": FinishReason.ERROR,
    "TOO_MANY_TOOL_CALLS": FinishReason.ERROR,
    "MISSING_THOUGHT_SIGNATURE": FinishReason.ERROR,
    "MALFORMED_RESPONSE": FinishReason.ERROR,
}  # everything else (SAFETY, RECITATION, BLOCKLIST, ...) is a content filter


def to_gemini(request: ChatRequest) -> tuple[str, list[dict[str, Any]]]:
    """The system instruction and the contents. A trailing assistant turn is sent as a model
    turn; Gemini often, not always, continues it."""
    names = {c.id: c.name for m in request.messages for c in m.tool_calls}
    contents: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id, "")
            response = {"name": name, "response": {"result": m.content}}
            role, parts = "user", [{"function_response": response}]
        else:
            role = "model" if m.role == "assistant" else "user"
            parts = [{"text": m.content}] if m.content else []
            parts += [
                {"function_call": {"name": c.name, "args": c.arguments}} for c in m.tool_calls
            ]
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    return system, contents


def retry_delay(details: Any) -> float | None:
    """The wait Gemini asks for: a ``RetryInfo`` detail such as ``"retryDelay": "37s"``."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for detail in error.get("details") or ():
        match = re.fullmatch(r"([\d.]+)s", str(detail.get("retryDelay", "")))
        if match:
            return float(match.group(1))
    return None


def from_api_error(exc: genai_errors.APIError) -> ProviderError:
    text = str(exc.details)
    if "API_KEY_INVALID" in text:  # a bad key is a 400 INVALID_ARGUMENT, told apart by reason
        return AuthenticationFailed(f"Gemini refused the API key: {exc.message}", status=exc.code)
    return errors.error_for_status(
        exc.code, exc.message or "", provider="Gemini", retry_after=retry_delay(exc.details)
    )


class Translator:
    """Turns the chunks of one Gemini stream into our events. Function calls arrive whole."""

    def __init__(self) -> None:
        self.finish: str | None = None
        self.usage: types.GenerateContentResponseUsageMetadata | None = None
        self.calls = 0

    def chunk(self, chunk: types.GenerateContentResponse) -> list[Event]:
        self.usage = chunk.usage_metadata or self.usage
        if chunk.prompt_feedback and chunk.prompt_feedback.block_reason:
            self.finish = "SAFETY"
        events: list[Event] = []
        for candidate in (chunk.candidates or ())[:1]:
            for part in (candidate.content and candidate.content.parts) or ():
                if call := part.function_call:
                    self.calls += 1
                    # The Gemini API rarely sends call ids; the chat needs one per call.
                    call_id = call.id or f"gemini_call_{next(_ids)}"
                    events.append(ToolCall(call_id, call.name or "", dict(call.args or {})))
                elif part.text:
                    events.append((ThinkingDelta if part.thought else TextDelta)(part.text))
            if candidate.finish_reason:
                self.finish = str(
                    getattr(candidate.finish_reason, "value", candidate.finish_reason)
                )
        return events

    def end(self) -> list[Event]:
        if self.finish is None:
            raise UpstreamUnavailable("Gemini closed the stream before the answer was finished")
        events: list[Event] = []
        if self.usage:
            usage = self.usage
            output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
            events.append(Usage(usage.prompt_token_count, output))
        reason = FINISH_REASONS.get(self.finish, FinishReason.CONTENT_FILTER)
        # Gemini ends a turn of function calls with STOP.
        if self.calls and reason == FinishReason.END:
            reason = FinishReason.TOOL_CALLS
        events.append(Finish(reason))
        return events


class GeminiProvider(Provider):
    name = "gemini"
    key_env_var = "GEMINI_API_KEY"
    default_models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite")

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        # Pinned: google-genai 3.x defaults to v1, which lacks features v1beta has.
        options = types.HttpOptions(base_url=config.base_url or None, api_version="v1beta")
        self.client = genai.Client(api_key=config.api_key or "none", http_options=options)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if not self.config.api_key:
            raise ModelUnavailable(f"Set {self.key_env_var} to use Gemini")
        queue: asyncio.Queue[Any] = asyncio.Queue()
        pump = asyncio.create_task(self._pump(request, queue))
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            pump.cancel()
            await asyncio.wait({pump})

    async def _pump(self, request: ChatRequest, queue: asyncio.Queue[Any]) -> None:
        try:
            await self._produce(request, queue)
        except Exception as exc:  # raised again in the consuming task
            queue.put_nowait(exc)
        queue.put_nowait(_END)

    async def _produce(self, request: ChatRequest, queue: asyncio.Queue[Any]) -> None:
        system, contents = to_gemini(request)
        config = types.GenerateContentConfig(
            max_output_tokens=request.max_tokens,
            system_instruction=system or None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        if request.tools:
            declarations = [
                types.FunctionDeclaration(
                    name=t.name, description=t.description, parameters_json_schema=t.parameters
                )
                for t in request.tools
            ]
            config.tools = [types.Tool(function_declarations=declarations)]
        translator = Translator()
        try:
            stream = await self.client.aio.models.generate_content_stream(
                model=request.model, contents=contents, config=config
            )
            async for chunk in stream:
                for event in translator.chunk(chunk):
                    queue.put_nowait(event)
        except genai_errors.APIError as exc:
            raise from_api_error(exc) from exc
        except genai_errors.UnknownApiResponseError as exc:
            raise MalformedStream(f"Gemini sent something unreadable: {exc}") from exc
        except errors.TRANSPORT_ERRORS as exc:
            raise errors.connection_lost(exc, provider="Gemini") from exc
        for event in translator.end():
            queue.put_nowait(event)

    async def aclose(self) -> None:
        await self.client.aio.aclose()
