"""Markdown answers of a given size, shaped like what chat models write, for the benchmark:
prose, lists, code, tables, and the math (inline and display), Mermaid diagrams and task lists
models write too."""

from __future__ import annotations

import random

WORDS = (
    "the a of to and in is that for it as with be on this by are or from at an which model "
    "stream token latency buffer render frame socket server client cache request response "
    "parser layout browser channel worker message answer function value result error"
).split()

SNIPPETS = [
    "**important**",
    "*note*",
    "`config.yaml`",
    "`await stream.next()`",
    "[the documentation](https://example.com/docs/streaming)",
    "https://example.org/reference",
    "~~old approach~~",
    "$O(n \\log n)$",
    "\\(p_{99} \\le 25\\,\\text{ms}\\)",
    "$\\sqrt{\\sigma^2 + \\mu^2}$",
    "$5 and $10",
]

MATH = [
    "$$\n\\bar{x} = \\frac{1}{n} \\sum_{i=1}^{n} x_i, \\qquad "
    "s^2 = \\frac{1}{n-1} \\sum_{i=1}^{n} (x_i - \\bar{x})^2\n$$",
    "\\[\nT(n) = 2\\,T\\!\\left(\\frac{n}{2}\\right) + O(n) \\implies T(n) = O(n \\log n)\n\\]",
    "$$\n\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}^{-1} = "
    "\\frac{1}{ad - bc} \\begin{pmatrix} d & -b \\\\ -c & a \\end{pmatrix}\n$$",
]

DIAGRAMS = [
    "graph TD\n  Client -->|send| Server\n  Server -->|delta| Client\n"
    "  Server --> DB[(Postgres)]\n",
    "sequenceDiagram\n  Browser->>Daphne: send\n  Daphne->>Provider: stream\n"
    "  Provider-->>Daphne: tokens\n  Daphne-->>Browser: deltas\n",
]

CODE = [
    (
        "python",
        "async def consume(stream):\n    total = 0\n    async for chunk in stream:\n"
        "        total += len(chunk.text)\n        if chunk.done:\n            break\n"
        "    return total\n",
    ),
    (
        "javascript",
        "export function debounce(fn, ms) {\n  let timer = 0;\n  return (...args) => {\n"
        "    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), ms);\n  };\n}\n",
    ),
    ("bash", "python -m venv .venv\n. .venv/bin/activate\npip install -e '.[dev]'\npytest -q\n"),
    (
        "sql",
        "SELECT c.id, count(m.id) AS messages\nFROM conversation c\n"
        "JOIN message m ON m.conversation_id = c.id\nGROUP BY c.id\nORDER BY messages DESC;\n",
    ),
]


KINDS = [
    "paragraph", "bullets", "numbered", "code", "table", "quote", "heading", "math", "diagram",
    "tasks",
]  # fmt: skip


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    if rng.random() < 0.5:
        words.insert(rng.randint(0, len(words)), rng.choice(SNIPPETS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _block(rng: random.Random, number: int) -> str:
    kind = rng.choices(KINDS, weights=[30, 14, 10, 14, 6, 4, 8, 6, 2, 3])[0]
    if kind == "math":
        return rng.choice(MATH)
    if kind == "diagram":
        return f"```mermaid\n{rng.choice(DIAGRAMS)}```"
    if kind == "tasks":
        return "\n".join(
            f"- [{rng.choice(' x')}] {_sentence(rng)}" for _ in range(rng.randint(2, 5))
        )
    if kind == "paragraph":
        return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))
    if kind == "bullets":
        return "\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(2, 6)))
    if kind == "numbered":
        return "\n".join(f"{i + 1}. {_sentence(rng)}" for i in range(rng.randint(2, 5)))
    if kind == "code":
        lang, body = rng.choice(CODE)
        return f"```{lang}\n{body * rng.randint(1, 3)}```"
    if kind == "table":
        rows = ["| Setting | Default | Meaning |", "|:--|--:|:--|"]
        rows += [
            f"| `opt_{i}` | {rng.randint(1, 500)} | {_sentence(rng)} |"
            for i in range(rng.randint(3, 8))
        ]
        return "\n".join(rows)
    if kind == "quote":
        return f"> {_sentence(rng)}\n> {_sentence(rng)}"
    return f"{'#' * rng.randint(2, 3)} Part {number}"


def answer(size: int, seed: int = 1) -> str:
    """A markdown answer of at least `size` characters."""
    rng = random.Random(seed)
    blocks = ["# Answer"]
    total = len(blocks[0])
    while total < size:
        block = _block(rng, len(blocks))
        blocks.append(block)
        total += len(block) + 2
    return "\n\n".join(blocks) + "\n"


def code_answer(size: int, seed: int = 1) -> str:
    """An answer that is mostly one long code block (the open-fence case)."""
    rng = random.Random(seed)
    lines = []
    total = 0
    while total < size:
        line = f"    result_{len(lines)} = compute({rng.randint(0, 999)}, '{rng.choice(WORDS)}')"
        lines.append(line)
        total += len(line) + 1
    body = "\n".join(lines)
    intro = "Here is the script:\n\n```python\ndef main():\n"
    return f"{intro}{body}\n```\n\nRun it with `python main.py`.\n"
