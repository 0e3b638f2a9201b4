"""The admin dashboard: which provider is slow or failing, as server-drawn SVG charts.

Two queries over the answers of the last days (how they ended; their timings, reasoning
included); the charts are plain SVG built here, so the
admin needs no JavaScript and no front-end build. Every label comes from the database (model
names are typed by operators and users), so every label is escaped.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from chat.models import Attachment, Message

Status = Message.Status
STATUS_ORDER = [
    Status.COMPLETE,
    Status.STOPPED,
    Status.INTERRUPTED,
    Status.FAILED,
    Status.STREAMING,
    Status.PENDING,
]
STATUS_COLOURS = {
    Status.COMPLETE: "#3d8b40",
    Status.STOPPED: "#8a8a8a",
    Status.INTERRUPTED: "#d88c1c",
    Status.FAILED: "#c0392b",
    Status.STREAMING: "#2f7fc1",
    Status.PENDING: "#93b9dd",
}
WIDTH = 640
LABEL_WIDTH = 200
ROW_HEIGHT = 26
BAR_HEIGHT = 16


def provider_of(model: str) -> str:
    return model.partition(":")[0] if ":" in model else (model or "unknown")


@dataclass(frozen=True)
class Spread:
    """Quantiles of one model's measurements."""

    count: int
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float


def nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten, so the axis reads 0, 250, 500."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks, like numpy's default."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    ordered = sorted(values)
    return Spread(len(ordered), *(quantile(ordered, q) for q in (0.1, 0.25, 0.5, 0.75, 0.9)))


@dataclass(frozen=True)
class Reasoning:
    """How one model reasoned: an answer reasoned when it has a reasoning time or reasoning
    tokens (a provider may report tokens for reasoning it does not show)."""

    answers: int  # all of the model's answers
    reasoned: int
    timed: int  # of those, with a reasoning time
    mean_ms: float | None
    tokens: int  # reasoning tokens, all answers together

    @property
    def percent(self) -> int:
        return round(100 * self.reasoned / self.answers) if self.answers else 0


@dataclass(frozen=True)
class Stats:
    statuses: dict[str, Counter[str]]  # provider → status → answers
    ttft_ms: dict[str, Spread]  # model → time to first token
    tokens_per_second: dict[str, Spread]  # model → speed
    reasoning_ms: dict[str, Spread]  # model → reasoning time
    reasoning: dict[str, Reasoning]  # model → how it reasoned (models that did only)


def answer_stats(since: datetime) -> Stats:
    answers = Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=since)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    per_model: Counter[str] = Counter()
    counts = answers.order_by().values_list("model", "status").annotate(n=Count("id"))
    for model, status, n in counts:
        statuses[provider_of(model)][status] += n
        per_model[model] += n

    ttft: dict[str, list[float]] = defaultdict(list)
    speed: dict[str, list[float]] = defaultdict(list)
    thinking: dict[str, list[float]] = defaultdict(list)
    reasoned: Counter[str] = Counter()
    reasoning_tokens: Counter[str] = Counter()
    timings = answers.exclude(
        ttft_ms=None, tokens_per_second=None, reasoning_ms=None, reasoning_tokens=None
    ).values_list("model", "ttft_ms", "tokens_per_second", "reasoning_ms", "reasoning_tokens")
    for model, ttft_ms, tokens_per_second, reasoning_ms, tokens in timings.iterator(
        chunk_size=5000
    ):
        if ttft_ms is not None:
            ttft[model].append(ttft_ms)
        if tokens_per_second is not None:
            speed[model].append(tokens_per_second)
        if reasoning_ms is not None or tokens:
            reasoned[model] += 1
            reasoning_tokens[model] += tokens or 0
        if reasoning_ms is not None:
            thinking[model].append(reasoning_ms)
    return Stats(
        statuses=dict(sorted(statuses.items())),
        ttft_ms={model: s for model, values in sorted(ttft.items()) if (s := spread(values))},
        tokens_per_second={
            model: s for model, values in sorted(speed.items()) if (s := spread(values))
        },
        reasoning_ms={
            model: s for model, values in sorted(thinking.items()) if (s := spread(values))
        },
        reasoning={
            model: Reasoning(
                answers=per_model[model],
                reasoned=n,
                timed=len(thinking[model]),
                mean_ms=sum(thinking[model]) / len(thinking[model]) if thinking[model] else None,
                tokens=reasoning_tokens[model],
            )
            for model, n in sorted(reasoned.items())
        },
    )


@dataclass(frozen=True)
class FileStorage:
    """What one user's attachments take: ``files`` uploads, ``stored`` bytes (each distinct
    content once, as the storage holds them)."""

    username: str
    files: int
    stored: int


def file_storage(limit: int = 20) -> list[FileStorage]:
    """The users whose files take the most storage, most first."""
    files: Counter[str] = Counter()
    contents: dict[str, dict[str, int]] = defaultdict(dict)
    rows = Attachment.objects.order_by().values_list("owner__username", "digest", "size")
    for username, digest, size in rows.iterator(chunk_size=5000):
        files[username] += 1
        contents[username][digest] = size
    usage = [FileStorage(name, files[name], sum(held.values())) for name, held in contents.items()]
    return sorted(usage, key=lambda u: (-u.stored, u.username))[:limit]


def _svg(height: int, title: str, body: list[str]) -> SafeString:
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}" class="chart"><title>{}</title>',
        WIDTH,
        height,
        WIDTH,
        height,
        title,
        title,
    )
    # Every part was built with format_html, which escaped what came from the database.
    return mark_safe(head + "".join(body) + "</svg>")


def _label(y: float, text: str) -> str:
    return format_html(
        '<text x="{}" y="{}" text-anchor="end" class="label">{}</text>',
        LABEL_WIDTH - 8,
        f"{y + BAR_HEIGHT - 4:.0f}",
        text,
    )


def status_chart(statuses: dict[str, Counter[str]]) -> SafeString:
    """One stacked bar per provider: its answers, coloured by how they ended."""
    height = ROW_HEIGHT * len(statuses) + 30
    most = max((sum(c.values()) for c in statuses.values()), default=0) or 1
    scale = (WIDTH - LABEL_WIDTH - 60) / most
    body = []
    for row, (provider, counter) in enumerate(statuses.items()):
        y = 6 + row * ROW_HEIGHT
        body.append(_label(y, provider))
        x = float(LABEL_WIDTH)
        for status in STATUS_ORDER:
            n = counter.get(status, 0)
            if not n:
                continue
            body.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {} {}</title></rect>",
                    f"{x:.1f}",
                    y,
                    f"{max(n * scale, 1):.1f}",
                    BAR_HEIGHT,
                    STATUS_COLOURS[status],
                    provider,
                    n,
                    status,
                )
            )
            x += n * scale
        body.append(
            format_html(
                '<text x="{}" y="{}" class="value">{}</text>',
                f"{x + 6:.1f}",
                y + BAR_HEIGHT - 4,
                sum(counter.values()),
            )
        )
    legend_y = height - 8
    x = LABEL_WIDTH
    for status in STATUS_ORDER:
        body.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"></rect>'
                '<text x="{}" y="{}" class="legend">{}</text>',
                x,
                legend_y - 9,
                STATUS_COLOURS[status],
                x + 14,
                legend_y,
                status,
            )
        )
        x += 14 + 7 * len(status) + 14
    return _svg(height, "Answers per provider and status", body)


def in_seconds(spreads: dict[str, Spread]) -> dict[str, Spread]:
    """Spreads of milliseconds as seconds, for times long enough to read in seconds."""
    return {
        model: Spread(s.count, *(v / 1000 for v in (s.p10, s.p25, s.p50, s.p75, s.p90)))
        for model, s in spreads.items()
    }


def spread_chart(
    spreads: dict[str, Spread], title: str, unit: str, decimals: int = 0
) -> SafeString:
    """One box per model: the box spans the middle half, the whiskers 10% to 90%, the line is
    the median."""
    height = ROW_HEIGHT * len(spreads) + 30
    most = nice_ceiling(max((s.p90 for s in spreads.values()), default=0))
    scale = (WIDTH - LABEL_WIDTH - 90) / most
    body = []

    def x(value: float) -> str:
        return f"{LABEL_WIDTH + value * scale:.1f}"

    for row, (model, s) in enumerate(spreads.items()):
        y = 6 + row * ROW_HEIGHT
        mid = y + BAR_HEIGHT / 2
        body.append(_label(y, model))
        body.append(
            format_html(
                '<g class="box"><title>{}: median {} {}, 10-90%: {} to {} {} ({} answers)</title>'
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="whisker"></line>'
                '<rect x="{}" y="{}" width="{}" height="{}" class="iqr"></rect>'
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="median"></line></g>'
                '<text x="{}" y="{}" class="value">{} {}</text>',
                model,
                f"{s.p50:.{decimals}f}",
                unit,
                f"{s.p10:.{decimals}f}",
                f"{s.p90:.{decimals}f}",
                unit,
                s.count,
                x(s.p10),
                x(s.p90),
                mid,
                mid,
                x(s.p25),
                y,
                f"{max((s.p75 - s.p25) * scale, 1):.1f}",
                BAR_HEIGHT,
                x(s.p50),
                x(s.p50),
                y,
                y + BAR_HEIGHT,
                f"{float(x(s.p90)) + 6:.1f}",
                y + BAR_HEIGHT - 4,
                f"{s.p50:.{decimals}f}",
                unit,
            )
        )
    axis_y = height - 8
    for fraction in (0, 0.5, 1):
        body.append(
            format_html(
                '<text x="{}" y="{}" class="axis">{}</text>',
                x(most * fraction),
                axis_y,
                f"{most * fraction:.{decimals}f}",
            )
        )
    return _svg(height, title, body)
