"""Transcripts as the user saw them, for pages rendered on the server (the admin).

Model output is untrusted: a prompt injection can make a model write a script tag, a
``javascript:`` link, or an image whose URL carries the conversation to an attacker's server
the moment the page loads. So raw HTML in markdown is shown as text, links go only to
http(s) and mailto, images become links that load nothing until clicked, and the HTML is
sanitized again with nh3 after rendering, so a renderer bug alone cannot let markup through.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from chat.models import Conversation, Message
from chat.review import markup
from chat.review.branches import branch_starts

SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
        "code", "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr",
        "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def is_safe_url(url: str) -> bool:
    """Absolute http(s) and mailto only: a relative link in model output would point into the
    admin itself, where a click acts with the operator's session."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if parts.scheme.lower() not in SCHEMES:
        return False
    return parts.scheme.lower() == "mailto" or bool(parts.netloc)


def _image_as_link(
    self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Labelled like the chat page's click-to-load button, so the operator reads what the user
    # read; a link the operator may follow, never an <img> the page would fetch by itself.
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    parts = urlsplit(src)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return escapeHtml(alt)
    label = f"[{alt or 'image'}] Load image from {parts.netloc}"
    return f'<a href="{escapeHtml(src)}">{escapeHtml(label)}</a>'


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = is_safe_url  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_link)
    md.use(markup.math_and_tasks)
    return md


def render_markdown(text: str) -> str:
    """``text`` as sanitized HTML; safe to mark safe in a template."""
    html = _markdown().render(text)
    clean = nh3.clean(
        html,
        tags=set(TAGS | markup.TAGS),
        attributes={**ATTRIBUTES, **markup.ATTRIBUTES},
        allowed_classes=markup.CLASSES,
        url_schemes=set(SCHEMES),
        link_rel="noopener noreferrer",
    )
    # A class none of whose names is allowed (a fence's language-…) leaves class="" behind;
    # text never holds that (the quotes of text are escaped).
    return clean.replace(' class=""', "")


# The transcript as the user saw it ---------------------------------------------------------


@dataclass
class Entry:
    """One place in the conversation: the version shown, and the others behind it."""

    message: Message
    html: SafeString
    tool_calls: list[dict[str, str]]
    reasoning: Reasoning | None = None
    settings: AnswerSettings | None = None
    versions: list[Entry] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)  # those not shown that start here
    window_starts: bool = False  # the divider: messages above were not sent to the model


@dataclass
class Branch:
    """A branch not shown: what followed the version ``version`` of an edited user message."""

    version: Message
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Reasoning:
    """An answer's reasoning as the page shows it: a label ("Thought for 12 s · 340 reasoning
    tokens") and the visible reasoning, rendered like the answer's text (empty when the
    provider hid all of it)."""

    label: str
    html: SafeString


@dataclass(frozen=True)
class AnswerSettings:
    """The settings an answer was made with, as the admin shows them beside its metrics:
    the parameters ("temperature 0.2", "top_p default"), what the provider adapted, and the
    instructions as sent (shown collapsed)."""

    parts: list[str]
    notes: list[str]
    system_prompt: str


def _value(value: object) -> str:
    return "default" if value is None else str(value)


def _settings(message: Message) -> AnswerSettings | None:
    recorded = message.settings
    if message.role != Message.Role.ASSISTANT or not isinstance(recorded, dict):
        return None
    tools = recorded.get("tools")
    parts = [
        f"temperature {_value(recorded.get('temperature'))}",
        f"top_p {_value(recorded.get('top_p'))}",
        f"up to {_value(recorded.get('max_output_tokens'))} output tokens",
        f"reasoning {_value(recorded.get('reasoning_effort'))}",
        f"tools: {', '.join(map(str, tools))}" if isinstance(tools, list) and tools else "no tools",
    ]
    if not recorded.get("system_prompt"):
        parts.append("no instructions")
    notes = recorded.get("notes")
    return AnswerSettings(
        parts=parts,
        notes=[str(note) for note in notes] if isinstance(notes, list) else [],
        system_prompt=str(recorded.get("system_prompt") or ""),
    )


@dataclass
class Transcript:
    entries: list[Entry]
    hidden: int  # older places not shown (the page shows the newest ones)
    context_from_seq: int | None  # where the newest answer's window began
    summary: str
    summary_through_seq: int


def _body(message: Message) -> SafeString:
    if message.role == Message.Role.ASSISTANT:
        return mark_safe(render_markdown(message.text))  # sanitized by nh3 just above
    # What people typed, tool results and system prompts are shown as typed, never as markup.
    return format_html('<div class="chat-plain">{}</div>', message.text)


def seconds(ms: int) -> str:
    """12345 → "12 s", 1500 → "1.5 s", 83000 → "1 min 23 s": what the chat page says after
    "Thought for"."""
    if ms < 10_000:
        return f"{ms / 1000:.1f}".removesuffix(".0") + " s"
    whole = round(ms / 1000)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60} s"


def reasoning_label(message: Message) -> str:
    parts = []
    if message.reasoning_ms is not None:
        parts.append(f"Thought for {seconds(message.reasoning_ms)}")
    if message.reasoning_tokens is not None:
        tokens = message.reasoning_tokens
        parts.append(f"{tokens:,} reasoning token{'' if tokens == 1 else 's'}")
    if message.reasoning_redacted:
        parts.append("Reasoning hidden by the provider")
    return " · ".join(parts) or "Reasoning"


def _reasoning(message: Message) -> Reasoning | None:
    """None when the answer did not reason. The reasoning is model output like the answer's
    text, so it goes through the same renderer; the provider's opaque state is never shown."""
    reasoned = (
        message.reasoning
        or message.reasoning_redacted
        or message.reasoning_ms is not None
        or message.reasoning_tokens
    )
    if message.role != Message.Role.ASSISTANT or not reasoned:
        return None
    html = mark_safe(render_markdown(message.reasoning)) if message.reasoning else SafeString()
    return Reasoning(label=reasoning_label(message), html=html)  # sanitized by nh3 above


def _calls(message: Message) -> list[dict[str, str]]:
    calls = []
    for call in message.tool_calls if isinstance(message.tool_calls, list) else []:
        if isinstance(call, dict):
            arguments = call.get("arguments", {})
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, indent=2, ensure_ascii=False)
            calls.append(
                {
                    "id": str(call.get("id", "")),
                    "name": str(call.get("name", "")),
                    "arguments": arguments,
                }
            )
    return calls


def _entry(message: Message) -> Entry:
    return Entry(
        message=message,
        html=_body(message),
        tool_calls=_calls(message),
        reasoning=_reasoning(message),
        settings=_settings(message),
    )


def entries(conversation: Conversation, *, limit: int | None = None) -> Transcript:
    """The conversation's messages grouped by place (seq and role), the shown version first,
    with the window divider where the newest answer's context began. ``limit`` keeps only
    the newest places, so a huge conversation does not make a huge page."""
    messages = conversation.messages.all()
    hidden = 0
    if limit is not None:
        places = messages.filter(active=True).order_by("-seq").values_list("seq", flat=True)
        oldest = list(places[limit - 1 : limit])
        if oldest:
            hidden = messages.filter(active=True, seq__lt=oldest[0]).count()
            messages = messages.filter(seq__gte=oldest[0])
    rows = list(messages.order_by("seq", "created_at", "pk").prefetch_related("attachments"))
    starts = branch_starts(rows)
    slots: dict[tuple[int, str], list[Message]] = {}
    for message in rows:
        slots.setdefault((message.seq, message.role), []).append(message)

    result: list[Entry] = []
    by_place: dict[tuple[int, str], Entry] = {}
    branches: dict[int, Branch] = {}
    for place, members in slots.items():
        shown = next((m for m in reversed(members) if m.active), members[-1])
        entry = _entry(shown)
        entry.versions = [_entry(m) for m in members if m is not shown]
        start = starts.get(shown.pk)
        if start is None:
            result.append(entry)
            by_place[place] = entry
            continue
        # A place of a branch not shown: under the place shown it starts from, with the rest
        # of its branch (places come in seq order, so the start is already there).
        (start_place, version_id), owner = start, by_place.get(start[0])
        if owner is None:
            result.append(entry)  # its start is older than the places shown
            continue
        if version_id not in branches:
            version = next(m for m in slots[start_place] if m.pk == version_id)
            branches[version_id] = Branch(version)
            owner.branches.append(branches[version_id])
        branches[version_id].entries.append(entry)

    answers = [e.message for e in result if e.message.role == Message.Role.ASSISTANT]
    from_seq = next(
        (a.context_from_seq for a in reversed(answers) if a.context_from_seq is not None), None
    )
    if from_seq is not None:
        earlier = hidden > 0
        for entry in result:
            if entry.message.seq >= from_seq:
                entry.window_starts = earlier
                break
            earlier = True
    return Transcript(
        entries=result,
        hidden=hidden,
        context_from_seq=from_seq,
        summary=conversation.summary,
        summary_through_seq=conversation.summary_through_seq,
    )
