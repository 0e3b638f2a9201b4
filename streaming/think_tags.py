"""Reasoning inlined in a model's text as ``<think>…</think>`` (or ``<thinking>…</thinking>``),
split out of the answer as it streams.

OpenAI-compatible servers that do not parse reasoning themselves (llama.cpp with
``--reasoning-format none``, vLLM without a reasoning parser, gateways) and the offline model pass
the tags through in the text. ``ThinkTags`` turns that text into ``ReasoningDelta``s and
``TextDelta``s; every rule below is about the text as a whole, so however the text is cut into
chunks (a tag split anywhere, one character at a time) the result is the same.

The rules:

- **A block at the start.** An opening tag at the start of the output (after whitespace) starts
  the reasoning; its own closing tag ends it. An opening tag anywhere else is text: answers
  that mention ``<think>`` (in code, in an explanation) stay intact.
- **Starting inside.** DeepSeek-R1 and its distills are prompted with the opening tag already in
  place, so their output has only the closing one: ``…reasoning…</think>answer``. When the
  caller knows this (``starts_in_reasoning=True``: the prompt ends with an opening tag, or the
  model was seen doing it before), everything up to the first closing tag is reasoning (a
  redundant opening tag at the start is dropped), and a stream that ends without one was all
  reasoning.
- **A lone closing tag, not known in advance.** Otherwise a closing tag with no opening tag
  before it counts only at the start of a line, within the first ``lone_close_within``
  characters, before any code fence: then it is dropped and ``lone_close`` is set, so the
  caller can start that model inside reasoning from its next answer on. The text before it
  has gone out as answer text already: telling it apart in advance would mean holding back
  every answer until the model has written a whole reasoning's worth of text (thousands of
  characters), and an answer without tags must not wait. Elsewhere a closing tag is text.
- **Whitespace.** Whitespace just inside the tags and just after the closing tag is dropped
  (``<think>\\nhm\\n</think>\\n\\nHi`` is reasoning ``hm`` and answer ``Hi``).

What is held back, so nothing is decided too early: a possible tag (``<thi…``) at the start of
the output, at the start of a line while a lone closing tag may still come, and at the end of
the reasoning so far (with the whitespace before it). An answer without tags is delayed by at
most the length of a tag, and only where one could start.
"""

from __future__ import annotations

from streaming.events import ReasoningDelta, TextDelta

OPEN_TAGS = {"<think>": "</think>", "<thinking>": "</thinking>"}
CLOSE_TAGS = ("</think>", "</thinking>")
# A lone closing tag further into the output than this is text: R1's reasoning is rarely longer,
# and an answer that discusses the tags later on is left alone.
LONE_CLOSE_WITHIN = 16_000

_START, _REASONING, _ANSWER = "start", "reasoning", "answer"


def _could_become(text: str, tags: tuple[str, ...]) -> bool:
    """Whether ``text`` is the beginning of one of ``tags`` (but not a whole one)."""
    return any(tag.startswith(text) and tag != text for tag in tags)


def _starts_with(text: str, tags: tuple[str, ...]) -> str:
    return next((tag for tag in tags if text.startswith(tag)), "")


class ThinkTags:
    """Feed it the text as it arrives; it returns the events that are certain so far.

    ``feed(text)`` and ``end()`` (once the stream is over) return lists of ``ReasoningDelta`` and
    ``TextDelta``, adjacent ones of a kind merged. ``lone_close`` is true once a lone closing
    tag was seen (see the module's rules); ``closed`` once any reasoning block was closed.
    """

    def __init__(
        self, *, starts_in_reasoning: bool = False, lone_close_within: int = LONE_CLOSE_WITHIN
    ) -> None:
        self.starts_in_reasoning = starts_in_reasoning
        self.lone_close_within = lone_close_within
        self.lone_close = False
        self.closed = False
        self._state = _START
        self._buffer = ""  # text not decided yet
        self._position = 0  # characters of the output before the buffer
        self._close_tags = CLOSE_TAGS
        self._strip = False  # drop whitespace before the next character of the current part
        self._detect = not starts_in_reasoning  # may a lone closing tag still come?
        self._line_start = True  # the last character decided was a newline (or none yet)
        self._tail = ""  # the answer's last two characters, to find fences across chunks
        self._out: list[ReasoningDelta | TextDelta] = []

    def feed(self, text: str) -> list[ReasoningDelta | TextDelta]:
        self._buffer += text
        self._run(final=False)
        return self._take()

    def end(self) -> list[ReasoningDelta | TextDelta]:
        self._run(final=True)
        return self._take()

    # -------------------------------------------------------------------------------------

    def _take(self) -> list[ReasoningDelta | TextDelta]:
        out, self._out = self._out, []
        return out

    def _consume(self, count: int) -> str:
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        self._position += count
        return taken

    def _reasoning(self, text: str) -> None:
        if text:
            last = self._out[-1] if self._out else None
            if isinstance(last, ReasoningDelta):
                self._out[-1] = ReasoningDelta(last.text + text)
            else:
                self._out.append(ReasoningDelta(text))

    def _text(self, text: str) -> None:
        if not text:
            return
        if "```" in self._tail + text:
            self._detect = False  # a closing tag in or after code is the code's
        self._tail = (self._tail + text)[-2:]
        self._line_start = text.endswith("\n")
        last = self._out[-1] if self._out else None
        if isinstance(last, TextDelta):
            self._out[-1] = TextDelta(last.text + text)
        else:
            self._out.append(TextDelta(text))

    def _strip_leading(self) -> bool:
        """Drop the whitespace the current part starts with; False while there is only that."""
        if self._strip:
            stripped = self._buffer.lstrip()
            self._consume(len(self._buffer) - len(stripped))
            if not stripped:
                return False
            self._strip = False
        return True

    def _run(self, *, final: bool) -> None:
        while self._buffer:
            state = self._state
            if state == _START:
                done = self._start(final)
            elif state == _REASONING:
                done = self._in_reasoning(final)
            else:
                done = self._in_answer(final)
            if done:
                return

    def _start(self, final: bool) -> bool:
        """At the start of the output: an opening tag, (a lone closing tag), or neither."""
        stripped = self._buffer.lstrip()
        blank = len(self._buffer) - len(stripped)
        tag = _starts_with(stripped, tuple(OPEN_TAGS))
        if tag:
            self._consume(blank + len(tag))
            self._state, self._close_tags, self._strip = _REASONING, (OPEN_TAGS[tag],), True
            self._detect = False
            return False
        if not self.starts_in_reasoning:
            tag = _starts_with(stripped, CLOSE_TAGS)
            if tag:
                self._consume(blank + len(tag))
                self._lone_close()
                return False
        tags = tuple(OPEN_TAGS) + (() if self.starts_in_reasoning else CLOSE_TAGS)
        if not final and (not stripped or _could_become(stripped, tags)):
            return True  # wait for more
        if self.starts_in_reasoning:
            self._state, self._strip = _REASONING, True
        else:
            self._state = _ANSWER
        return False

    def _lone_close(self) -> None:
        self.lone_close = self.closed = True
        self._state, self._strip, self._detect = _ANSWER, True, False

    def _in_reasoning(self, final: bool) -> bool:
        if not self._strip_leading():
            return True
        buffer = self._buffer
        found = [(buffer.find(tag), tag) for tag in self._close_tags if tag in buffer]
        if found:
            index, tag = min(found)
            self._reasoning(buffer[:index].rstrip())
            self._consume(index + len(tag))
            self._state, self._strip, self._detect = _ANSWER, True, False
            self.closed = True
            return False
        if final:
            self._reasoning(buffer.rstrip())
            self._consume(len(buffer))
            return True
        # Hold back a possible closing tag at the end, and the whitespace before it.
        held = len(buffer)
        start = buffer.rfind("<", max(0, len(buffer) - max(map(len, self._close_tags))))
        if start >= 0 and _could_become(buffer[start:], self._close_tags):
            held = start
        certain = len(buffer[:held].rstrip())
        self._reasoning(self._consume(certain))
        return True

    def _in_answer(self, final: bool) -> bool:
        if not self._strip_leading():
            return True
        if not self._detect:
            self._text(self._consume(len(self._buffer)))
            return True
        buffer = self._buffer
        index = buffer.find("<")
        while index >= 0:
            if self._position + index >= self.lone_close_within:
                self._detect = False
                break
            line_start = buffer[index - 1] == "\n" if index else self._line_start
            if line_start:
                before = buffer[:index]
                rest = buffer[index:]
                if "```" in self._tail + before:
                    break  # _text() turns detection off
                tag = _starts_with(rest, CLOSE_TAGS)
                if tag:
                    self._text(self._consume(index))
                    self._consume(len(tag))
                    self._lone_close()
                    return False
                if not final and _could_become(rest, CLOSE_TAGS):
                    self._text(self._consume(index))
                    return True  # wait for more
            index = buffer.find("<", index + 1)
        self._text(self._consume(len(buffer)))
        return True
