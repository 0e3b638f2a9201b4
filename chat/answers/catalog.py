"""Which models this installation offers, as ``provider:model`` names.

A provider appears only when it is usable here (its key is set, or the local model file is
found). Providers are built once per process, so their HTTP connection pools are reused.
"""

from __future__ import annotations

import importlib
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from chat.answers.errors import UnknownModel
from streaming.events import ChatRequest, TextDelta
from streaming.policy import StreamPolicy, guarded
from streaming.providers.base import Provider, ProviderConfig
from streaming.providers.local import LocalProvider  # cheap: llama.cpp loads on first use
from streaming.window import context_length, override_for

PROVIDERS = {
    "local": "streaming.providers.local.LocalProvider",
    "openai": "streaming.providers.openai.OpenAIProvider",
    "anthropic": "streaming.providers.anthropic.AnthropicProvider",
    "gemini": "streaming.providers.gemini.GeminiProvider",
}


def _configs() -> dict[str, ProviderConfig]:
    configs = {}
    if settings.LOCAL_MODEL_ENABLED:
        name = f"local:{LocalProvider.default_models[0]}"
        configs["local"] = ProviderConfig(
            model_path=settings.LOCAL_MODEL_PATH,
            context_length=context_length(name, settings.MODEL_CONTEXT_LENGTHS),
        )
    if settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL:
        # A base URL alone is enough: Ollama, vLLM and llama.cpp servers need no key.
        configs["openai"] = ProviderConfig(
            api_key=settings.OPENAI_API_KEY or "none",
            base_url=settings.OPENAI_BASE_URL,
            models=tuple(settings.OPENAI_MODELS),
            api=settings.OPENAI_API,
            display_name=settings.OPENAI_SERVER_NAME,
        )
    if settings.ANTHROPIC_API_KEY:
        configs["anthropic"] = ProviderConfig(
            api_key=settings.ANTHROPIC_API_KEY,
            base_url=settings.ANTHROPIC_BASE_URL,
            models=tuple(settings.ANTHROPIC_MODELS),
        )
    if settings.GEMINI_API_KEY:
        configs["gemini"] = ProviderConfig(
            api_key=settings.GEMINI_API_KEY,
            base_url=settings.GEMINI_BASE_URL,
            models=tuple(settings.GEMINI_MODELS),
        )
    return configs


@cache
def providers() -> dict[str, Provider]:
    found = {}
    for name, config in _configs().items():
        module_name, _, class_name = PROVIDERS[name].rpartition(".")
        provider = getattr(importlib.import_module(module_name), class_name)(config)
        if getattr(provider, "available", True):
            found[name] = provider
    return found


def models() -> list[str]:
    return [f"{name}:{model}" for name, p in providers().items() for model in p.models]


def reasoning_models() -> list[str]:
    """The models offered here whose reasoning the conversation's effort controls."""
    return [
        f"{name}:{model}"
        for name, p in providers().items()
        for model in p.models
        if p.takes_reasoning_effort(model)
    ]


def capabilities(name: str) -> frozenset[str]:
    """What ``name`` (``provider:model``) takes besides text (``vision``, ``pdf``): the
    operator's word (``MODEL_CAPABILITIES``), else its provider's; none for a model not
    offered here."""
    provider_name, _, model = name.partition(":")
    provider = providers().get(provider_name)
    if provider is None:
        return frozenset()
    override = override_for(name, settings.MODEL_CAPABILITIES)
    return override if override is not None else provider.capabilities(model)


def offered_capabilities() -> dict[str, list[str]]:
    """Every model offered, with what it takes besides text, sorted."""
    return {name: sorted(capabilities(name)) for name in models()}


def provider_labels() -> dict[str, str]:
    """Each provider offered, by the name a badge or a picker shows ("OpenAI", "Offline
    model", an OpenAI-compatible server by its configured name or "Local server")."""
    labels = {}
    for name, provider in providers().items():
        label = provider.display_name.removeprefix("the ")
        labels[name] = label[:1].upper() + label[1:]
    return labels


def default_model() -> str:
    offered = models()
    if settings.DEFAULT_MODEL in offered:
        return settings.DEFAULT_MODEL
    return offered[0] if offered else ""


def resolve(name: str) -> tuple[Provider, str]:
    """The provider and its own model name for ``provider:model``; refuses what is not offered."""
    if name not in models():
        raise UnknownModel(f"{name!r} is not one of the models offered here")
    provider_name, _, model = name.partition(":")
    return providers()[provider_name], model


def stream_policy() -> StreamPolicy:
    """How every provider stream is guarded: retries before the first token, the idle limit."""
    return StreamPolicy(retries=settings.PROVIDER_RETRIES, idle_timeout=settings.IDLE_TIMEOUT)


async def complete(name: str, request: ChatRequest) -> str:
    """The whole text ``name`` (``provider:model``) answers to a one-off ``request`` (a
    summary, a title), read through the same guard as answers; raises ``ProviderError``."""
    provider, model = resolve(name)
    request = ChatRequest(model=model, messages=request.messages, max_tokens=request.max_tokens)
    parts = []
    async for event in guarded(provider, request, stream_policy()):
        if isinstance(event, TextDelta):
            parts.append(event.text)
    return "".join(parts)


@receiver(setting_changed)
def _forget_providers(**kwargs: object) -> None:
    providers.cache_clear()
