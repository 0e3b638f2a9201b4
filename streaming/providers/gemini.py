"""Google Gemini through ``google-genai``.

Reasoning follows the request's ``reasoning_effort``: ``low`` / ``medium`` / ``high`` send
``thinking_config`` with ``include_thoughts=True`` and, for Gemini 2.x (and names without a
version), a ``thinking_budget`` of ``BUDGETS[effort]`` tokens; for Gemini 3 and later the
``thinking_level`` ``LOW`` / ``MEDIUM`` / ``HIGH`` (the two are exclusive). The budget is added
to ``max_output_tokens``, which counts thoughts. ``off`` sends no ``thinking_config``: the
model's default, which for 2.5 Flash and Pro is to think without showing it.

Parts marked ``thought`` are reasoning. Every part's ``thought_signature`` (Gemini 3 refuses a
follow-up whose function call lacks its signature) is kept in the turn's ``ReasoningState``
together with the shape of the turn's parts, so each goes back verbatim on the part it came
with; parts without a signature may be merged, signed ones never are.

The SDK's async stream does not close its HTTP response when the generator is closed (only at
garbage collection), but cancelling the task
that iterates it does. So the SDK stream is consumed in a task of its own, cancelled the moment
our generator is closed or cancelled, and events reach us through a queue.

Files (images, PDFs) go as ``inline_data`` parts before the text.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
import re
from collections.abc import AsyncIterator
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from streaming.events import (
    AuthenticationFailed,
    ChatMessage,
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    MalformedStream,
    ModelUnavailable,
    ProviderError,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
    UpstreamUnavailable,
    Usage,
)
from streaming.providers import errors
from streaming.providers.base import PDF, VISION, Provider, ProviderConfig
from streaming.transport import for_sdk

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
BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}  # within every 2.5 model's range
LEVELS = {"low": "LOW", "medium": "MEDIUM", "high": "HIGH"}
TILE_TOKENS = 258  # what Gemini counts for an image tile, and for a PDF page


def thinking_config(model: str, effort: str) -> types.ThinkingConfig | None:
    if effort == "off":
        return None
    version = re.match(r"gemini-(\d+)", model)
    if version and int(version.group(1)) >= 3:
        return types.ThinkingConfig(
            include_thoughts=True, thinking_level=types.ThinkingLevel(LEVELS[effort])
        )
    return types.ThinkingConfig(include_thoughts=True, thinking_budget=BUDGETS[effort])


def _signature(entry: dict[str, Any]) -> dict[str, Any]:
    signature = entry.get("thought_signature")
    return {"thought_signature": base64.b64decode(signature)} if signature else {}


def model_parts(message: ChatMessage, model: str) -> list[dict[str, Any]]:
    """An assistant turn's parts: rebuilt in the shape they came in, with their signatures,
    from the turn's ``ReasoningState`` when it has one (from this model)."""
    calls = [{"function_call": {"name": c.name, "args": c.arguments}} for c in message.tool_calls]
    text = message.content
    state = message.reasoning
    if state is None or state.provider != "gemini" or state.model != model:
        return ([{"text": text}] if text else []) + calls
    entries = state.data.get("parts") or []
    lengths = [e["text"] for e in entries if "text" in e and not e.get("thought")]
    if sum(lengths) != len(text):  # not the text the signatures came with: keep the calls'
        entries = [e for e in entries if "function_call" in e]
        if text:
            entries.insert(0, {"text": len(text)})
    parts: list[dict[str, Any]] = []
    used: set[int] = set()
    position = 0
    for entry in entries:
        if entry.get("thought"):
            parts.append({"text": entry["text"], "thought": True, **_signature(entry)})
        elif "function_call" in entry:
            number = entry["function_call"]
            if number < len(calls) and message.tool_calls[number].name == entry.get("name"):
                parts.append({**calls[number], **_signature(entry)})
                used.add(number)
        else:
            piece = text[position : position + entry["text"]]
            position += entry["text"]
            if piece or entry.get("thought_signature"):
                parts.append({"text": piece, **_signature(entry)})
    parts += [call for number, call in enumerate(calls) if number not in used]
    return parts


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
        elif m.role == "assistant":
            role, parts = "model", model_parts(m, request.model)
        else:
            role = "user"
            parts = [
                {"inline_data": {"mime_type": item.media_type, "data": item.data}}
                for item in m.attachments
            ]
            parts += [{"text": m.content}] if m.content else []
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
    """Turns the chunks of one Gemini stream into our events. Function calls arrive whole.

    ``parts`` is the shape of the turn: text parts by length (unsigned neighbours merged),
    function calls by number, signed thought parts whole, each with its signature."""

    def __init__(self, model: str = "") -> None:
        self.model = model
        self.finish: str | None = None
        self.usage: types.GenerateContentResponseUsageMetadata | None = None
        self.calls = 0
        self.parts: list[dict[str, Any]] = []
        self.signed = False

    def _shape(self, entry: dict[str, Any], signature: bytes | None) -> None:
        if signature:
            entry["thought_signature"] = base64.b64encode(signature).decode()
            self.signed = True
        last = self.parts[-1] if self.parts else None
        if last is not None and set(last) == {"text"} and set(entry) == {"text"}:
            last["text"] += entry["text"]
        else:
            self.parts.append(entry)

    def chunk(self, chunk: types.GenerateContentResponse) -> list[Event]:
        self.usage = chunk.usage_metadata or self.usage
        if chunk.prompt_feedback and chunk.prompt_feedback.block_reason:
            self.finish = "SAFETY"
        events: list[Event] = []
        for candidate in (chunk.candidates or ())[:1]:
            for part in (candidate.content and candidate.content.parts) or ():
                signature = part.thought_signature
                if call := part.function_call:
                    # The Gemini API rarely sends call ids; the chat needs one per call.
                    call_id = call.id or f"gemini_call_{next(_ids)}"
                    events.append(ToolCall(call_id, call.name or "", dict(call.args or {})))
                    self._shape({"function_call": self.calls, "name": call.name or ""}, signature)
                    self.calls += 1
                elif part.thought:
                    if part.text:
                        events.append(ReasoningDelta(part.text))
                    if signature:
                        self._shape({"text": part.text or "", "thought": True}, signature)
                elif part.text is not None or signature:
                    # Empty parts too: a signature may come alone on one.
                    if part.text:
                        events.append(TextDelta(part.text))
                    self._shape({"text": len(part.text or "")}, signature)
            if candidate.finish_reason:
                self.finish = str(
                    getattr(candidate.finish_reason, "value", candidate.finish_reason)
                )
        return events

    def end(self) -> list[Event]:
        if self.finish is None:
            raise UpstreamUnavailable("Gemini closed the stream before the answer was finished")
        events: list[Event] = []
        if self.signed:
            events.append(ReasoningState("gemini", self.model, {"parts": self.parts}))
        if self.usage:
            usage = self.usage
            output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
            events.append(Usage(usage.prompt_token_count, output, usage.thoughts_token_count))
        reason = FINISH_REASONS.get(self.finish, FinishReason.CONTENT_FILTER)
        # Gemini ends a turn of function calls with STOP.
        if self.calls and reason == FinishReason.END:
            reason = FinishReason.TOOL_CALLS
        events.append(Finish(reason))
        return events


class GeminiProvider(Provider):
    name = "gemini"
    title = "Google Gemini"
    key_env_var = "GEMINI_API_KEY"
    default_models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite")

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        # Pinned: google-genai 3.x defaults to v1, which lacks features v1beta has.
        transport = for_sdk()
        options = types.HttpOptions(
            base_url=config.base_url or None,
            api_version="v1beta",
            async_client_args={"transport": transport} if transport else None,
        )
        self.client = genai.Client(api_key=config.api_key or "none", http_options=options)

    def capabilities(self, model: str) -> frozenset[str]:
        return frozenset({VISION, PDF})

    def image_tokens(self, width: int, height: int) -> int:
        """Gemini's count: 258 for an image within 384 x 384, else 258 per 768 x 768 tile."""
        if width <= 384 and height <= 384:
            return TILE_TOKENS
        return TILE_TOKENS * math.ceil(width / 768) * math.ceil(height / 768)

    def document_tokens(self, pages: int, text_tokens: int) -> int:
        return TILE_TOKENS * pages  # each page is read as one image

    def takes_reasoning_effort(self, model: str) -> bool:
        # Gemini thinks from 2.5 on; earlier versions have no thinking config.
        version = re.match(r"gemini-(\d+)(?:\.(\d+))?", model)
        if version is None:
            return True
        return (int(version.group(1)), int(version.group(2) or 0)) >= (2, 5)

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
            # Thoughts count in max_output_tokens: the answer keeps its own allowance.
            max_output_tokens=request.max_tokens + BUDGETS.get(request.reasoning_effort, 0),
            system_instruction=system or None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            thinking_config=thinking_config(request.model, request.reasoning_effort),
            temperature=request.temperature,
            top_p=request.top_p,
        )
        if request.tools:
            declarations = [
                types.FunctionDeclaration(
                    name=t.name, description=t.description, parameters_json_schema=t.parameters
                )
                for t in request.tools
            ]
            config.tools = [types.Tool(function_declarations=declarations)]
        translator = Translator(request.model)
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
