"""The offline model splits a reasoning GGUF's ``<think>`` blocks out, as servers' text is."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from streaming.events import ReasoningDelta, TextDelta, Usage
from streaming.providers.base import ProviderConfig
from streaming.providers.local import LocalProvider
from tests.streaming.conftest import ask, run, text_of


class StubLlama:
    """Stands in for llama_cpp.Llama: streams the given pieces as completion chunks."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.n_tokens = 0

    def tokenize(self, data: bytes, special: bool = False) -> list[int]:
        return list(range(len(data.split())))

    def create_completion(self, prompt: str, **options):
        self.n_tokens = len(prompt.split()) + len(self.pieces)
        for piece in self.pieces:
            yield {"choices": [{"text": piece, "finish_reason": None}]}
        yield {"choices": [{"text": "", "finish_reason": "stop"}]}


def local(pieces: list[str], prompt_end: str = "<|assistant|>\n") -> LocalProvider:
    provider = LocalProvider(ProviderConfig(model_path="/nonexistent.gguf"))
    provider._llama = StubLlama(pieces)
    provider._formatter = lambda messages: SimpleNamespace(
        prompt="<|user|>\n" + messages[-1]["content"] + prompt_end, stop=["<|end|>"]
    )
    return provider


def reasoning_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


async def test_a_think_block_is_reasoning_split_anywhere():
    provider = local(["<th", "ink>\nFirst", " this.\n</thi", "nk>\n\nThe ", "answer."])
    events, error = await run(provider.stream(ask()))
    assert error is None
    assert reasoning_of(events) == "First this."
    assert text_of(events) == "The answer."
    assert isinstance(events[-2], Usage)


async def test_a_template_that_opens_the_block_starts_in_reasoning():
    provider = local(["Let me", " see.\n</think>", "\n\n4"], prompt_end="<|assistant|>\n<think>\n")
    events, _ = await run(provider.stream(ask()))
    assert (reasoning_of(events), text_of(events)) == ("Let me see.", "4")


async def test_a_model_seen_omitting_the_opening_tag_starts_in_reasoning_next_time():
    provider = local(["Hmm.\n", "</think>\n\n", "4"])
    events, _ = await run(provider.stream(ask()))
    assert (reasoning_of(events), text_of(events)) == ("", "Hmm.\n4")  # learnt too late
    provider._llama = StubLlama(["Again.\n", "</think>\n\n", "5"])
    events, _ = await run(provider.stream(ask()))
    assert (reasoning_of(events), text_of(events)) == ("Again.", "5")


async def test_an_answer_without_tags_is_unchanged():
    provider = local(["Plain", " <b>text</b>\n", "<i>x</i>"])
    events, _ = await run(provider.stream(ask()))
    assert not reasoning_of(events)
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Plain",
        " <b>text</b>\n",
        "<i>x</i>",
    ]


class RecordingLlama(StubLlama):
    def create_completion(self, prompt: str, **options):
        self.options = options
        yield from super().create_completion(prompt, **options)


async def test_the_offline_model_takes_the_conversations_sampling_and_length():
    provider = local(["Blue."])
    provider._llama = RecordingLlama(["Blue."])
    request = dataclasses.replace(ask(), temperature=0.2, top_p=0.5, max_tokens=77)
    await run(provider.stream(request))
    options = provider._llama.options
    assert (options["temperature"], options["top_p"], options["max_tokens"]) == (0.2, 0.5, 77)

    # Unset, llama.cpp's own defaults apply: nothing is sent for them.
    provider._llama = RecordingLlama(["Blue."])
    await run(provider.stream(dataclasses.replace(ask(), temperature=None, top_p=None)))
    assert "temperature" not in provider._llama.options
    assert "top_p" not in provider._llama.options
