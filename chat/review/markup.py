"""Math and task lists for the transcripts' server-side markdown, the chat page's rules
(``static/js/markdown/math.js`` and ``tasks.js``) in markdown-it-py.

The admin does not run KaTeX: a formula is shown as its TeX, delimiters and all, in a code
span (inline) or block (display), so markdown's escapes no longer eat its backslashes. Prices
stay text by the same rules as on the page: the opening ``$`` is not followed by a space, and
the first ``$`` after it closes only with no space before it and no digit after it. Task list
items get the same drawn, disabled checkbox.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

DISPLAY = (("$$", "$$"), ("\\[", "\\]"))
TASK = re.compile(r"^\[([ xX])\][ \t]+(?=\S)")


def _unescaped(src: str, needle: str, start: int, end: int) -> int:
    at = src.find(needle, start)
    while at != -1 and at < end:
        slashes = 0
        while at - 1 - slashes >= 0 and src[at - 1 - slashes] == "\\":
            slashes += 1
        if slashes % 2 == 0:
            return at
        at = src.find(needle, at + 1)
    return -1


def _push(state: StateInline, silent: bool, tex: str, end: int) -> bool:
    if not tex.strip():
        return False
    if not silent:
        token = state.push("math_inline", "code", 0)
        token.content = state.src[state.pos : end]
    state.pos = end
    return True


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, pos, end = state.src, state.pos, state.posMax
    char = src[pos]
    following = src[pos + 1] if pos + 1 < len(src) else ""
    if char == "\\":
        if following not in ("(", "["):
            return False
        close = src.find("\\)" if following == "(" else "\\]", pos + 2)
        if close == -1 or close + 2 > end:
            return False
        return _push(state, silent, src[pos + 2 : close], close + 2)
    if char != "$":
        return False
    if following == "$":
        close = _unescaped(src, "$$", pos + 2, end)
        return close != -1 and _push(state, silent, src[pos + 2 : close], close + 2)
    if following in ("", " ", "\t", "\n"):
        return False
    close = _unescaped(src, "$", pos + 1, end)
    if close == -1 or src[close - 1] in " \t\n" or src[close + 1 : close + 2].isdigit():
        return False
    return _push(state, silent, src[pos + 1 : close], close + 1)


def _math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin : state.eMarks[start_line]]
    pair = next((pair for pair in DISPLAY if first.startswith(pair[0])), None)
    if pair is None:
        return False
    opener, closer = pair
    rest = first[len(opener) :].rstrip()
    line = start_line + 1
    if len(rest) >= len(closer) and rest.endswith(closer):
        if closer in rest[: -len(closer)]:
            return False  # "$$a$$ and $$b$$": two inline formulas
    else:
        if closer in rest:
            return False
        # Like a fence, an open block runs on to a blank line.
        while line < end_line:
            line_start = state.bMarks[line] + state.tShift[line]
            line_end = state.eMarks[line]
            if line_start >= line_end or state.sCount[line] < state.blkIndent:
                break
            line += 1
            if state.src[line_start:line_end].rstrip().endswith(closer):
                break
    if silent:
        return True
    token = state.push("math_block", "pre", 0)
    token.block = True
    token.content = state.getLines(start_line, line, state.sCount[start_line], False)
    token.map = [start_line, line]
    state.line = line
    return True


def _task_lists(state: StateCore) -> None:
    tokens = state.tokens
    for i in range(2, len(tokens)):
        inline = tokens[i]
        if inline.type != "inline" or tokens[i - 1].type != "paragraph_open":
            continue
        if tokens[i - 2].type != "list_item_open" or not inline.children:
            continue
        first = inline.children[0]
        match = TASK.match(first.content) if first.type == "text" else None
        if match is None:
            continue
        first.content = first.content[match.end() :]
        box = Token("task_box", "span", 0)
        box.meta = {"checked": match.group(1) != " "}
        inline.children.insert(0, box)
        tokens[i - 2].attrJoin("class", "md-task")


def _render_math_inline(self, tokens, idx, options, env) -> str:
    return f'<code class="md-math">{escapeHtml(tokens[idx].content)}</code>'


def _render_math_block(self, tokens, idx, options, env) -> str:
    return f'<pre class="md-math"><code>{escapeHtml(tokens[idx].content)}</code></pre>\n'


def _render_task_box(self, tokens, idx, options, env) -> str:
    checked = "true" if tokens[idx].meta["checked"] else "false"
    label = "Done" if tokens[idx].meta["checked"] else "Not done"
    return (
        f'<span class="md-task-box" role="checkbox" aria-checked="{checked}" '
        f'aria-disabled="true" aria-label="{label}"></span>'
    )


def math_and_tasks(md: MarkdownIt) -> None:
    """Adds the rules to ``md``."""
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    interrupts = ["paragraph", "reference", "blockquote", "list"]
    md.block.ruler.before("fence", "math_block", _math_block, {"alt": interrupts})
    md.core.ruler.after("inline", "task_lists", _task_lists)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_block", _render_math_block)
    md.add_render_rule("task_box", _render_task_box)


# What the sanitizer must let through for them.
TAGS = frozenset({"span"})
ATTRIBUTES = {"span": {"role", "aria-checked", "aria-disabled", "aria-label"}}
CLASSES = {"code": {"md-math"}, "pre": {"md-math"}, "li": {"md-task"}, "span": {"md-task-box"}}
