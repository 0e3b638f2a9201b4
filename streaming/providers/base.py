"""The provider interface: one small class per vendor, all speaking ``streaming.events``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from streaming.events import ChatRequest, Event


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


class Provider(ABC):
    name: str = ""
    key_env_var: str = ""
    default_models: tuple[str, ...] = ()

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @property
    def models(self) -> tuple[str, ...]:
        return self.config.models or self.default_models

    def takes_reasoning_effort(self, model: str) -> bool:
        """Whether ``ChatRequest.reasoning_effort`` changes what ``model`` does here; models
        that reason on their own (inline ``<think>`` blocks) stream reasoning either way."""
        return False

    @abstractmethod
    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        """Yield the answer as events, ending with one ``Finish``; raise ``ProviderError``.

        Closing the generator (``aclose()`` or cancelling the task that iterates it) must close
        the upstream connection promptly, so a stopped answer stops being billed.
        """
