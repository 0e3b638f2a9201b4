"""The provider interface: one small class per vendor, all speaking ``streaming.events``."""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from streaming.events import ChatRequest, Event
from streaming.window import model_entries

# What a model may take besides text (``Provider.capabilities``).
VISION = "vision"
PDF = "pdf"
CAPABILITIES = (VISION, PDF)
# A PDF page read as an image, as Claude reads it: up to about 1600 tokens.
PAGE_IMAGE_TOKENS = 1600


@dataclass(frozen=True)
class ProviderConfig:
    """What a provider needs from the outside world; filled from settings by the chat app."""

    api_key: str = ""
    base_url: str = ""
    models: tuple[str, ...] = ()
    model_path: str = ""  # the local provider's GGUF file
    context_length: int = 0  # the local provider's context, in tokens (0: the model's own)
    # The OpenAI provider's API: "responses" or "chat_completions"; empty: the Responses API
    # for OpenAI itself, Chat Completions for any other server (a base URL).
    api: str = ""
    # What users are told the provider is called ("the answer from <name> was cut off"); empty:
    # the provider's own name (``Provider.title``), or for a compatible server, its address.
    display_name: str = ""


class Provider(ABC):
    name: str = ""
    title: str = ""  # the vendor as users know it: "OpenAI", "Google Gemini"
    key_env_var: str = ""
    default_models: tuple[str, ...] = ()

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @property
    def display_name(self) -> str:
        """Who answers, in the words of a sentence for the user ("OpenAI", "the local server")."""
        return self.config.display_name or self.title or self.name

    @property
    def models(self) -> tuple[str, ...]:
        return self.config.models or self.default_models

    def capabilities(self, model: str) -> frozenset[str]:
        """What ``model`` takes besides text, of ``CAPABILITIES``: ``vision`` (images),
        ``pdf`` (PDFs whole). The operator's ``MODEL_CAPABILITIES`` overrides it."""
        return frozenset()

    def image_tokens(self, width: int, height: int) -> int:
        """About what an image of this size takes of the context. This default (a token per
        750 pixels, as Claude counts) is for a provider that gives no rule of its own."""
        return math.ceil(width * height / 750)

    def document_tokens(self, pages: int, text_tokens: int) -> int:
        """About what a PDF sent whole takes of the context, given its extracted text's
        tokens. This default is Claude's way, the dearest known: the text, and each page as an
        image."""
        return text_tokens + PAGE_IMAGE_TOKENS * pages

    def takes_reasoning_effort(self, model: str) -> bool:
        """Whether ``ChatRequest.reasoning_effort`` changes what ``model`` does here; models
        that reason on their own (inline ``<think>`` blocks) stream reasoning either way."""
        return False

    def adapt(self, request: ChatRequest) -> tuple[ChatRequest, tuple[str, ...]]:
        """``request`` as this provider sends it, without the settings ``request.model`` cannot
        take, and a note for each one left out or changed ("temperature ignored: …"), for the
        answer to show. ``stream`` sends the adapted request; calling it again changes nothing."""
        return request, ()

    @abstractmethod
    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        """Yield the answer as events, ending with one ``Finish``; raise ``ProviderError``.

        Closing the generator (``aclose()`` or cancelling the task that iterates it) must close
        the upstream connection promptly, so a stopped answer stops being billed.
        """


def without_sampling(
    request: ChatRequest, reason: str, *, temperature: bool = True, top_p: bool = True
) -> tuple[ChatRequest, tuple[str, ...]]:
    """``request`` without the sampling parameters named, with a note for each that was set:
    "<name> ignored: <reason>"."""
    notes = []
    dropped: dict[str, None] = {}
    for name, drop in (("temperature", temperature), ("top_p", top_p)):
        if drop and getattr(request, name) is not None:
            notes.append(f"{name} ignored: {reason}")
            dropped[name] = None
    return dataclasses.replace(request, **dropped), tuple(notes)


def sampling(request: ChatRequest) -> dict[str, float]:
    """The sampling parameters set, by their usual names (``temperature``, ``top_p``)."""
    values = {"temperature": request.temperature, "top_p": request.top_p}
    return {name: value for name, value in values.items() if value is not None}


def parse_capabilities(value: str) -> dict[str, frozenset[str]]:
    """``"openai:my-model=vision+pdf,local:smollm2=text"`` as a mapping; ``text`` is neither
    capability (text alone). Raises ``ValueError`` with a sentence naming the bad entry."""
    found: dict[str, frozenset[str]] = {}
    for entry, model, names in model_entries(value, "capabilities (vision+pdf, or text)"):
        wanted = {name.strip() for name in names.split("+")}
        unknown = sorted(wanted - {*CAPABILITIES, "text"})
        if unknown:
            said = ", ".join(repr(name) for name in unknown)
            raise ValueError(f"{entry!r}: {said} is not one of {', '.join(CAPABILITIES)}, text")
        if "text" in wanted and len(wanted) > 1:
            raise ValueError(f"{entry!r}: text means neither {' nor '.join(CAPABILITIES)}")
        found[model] = frozenset(wanted - {"text"})
    return found
