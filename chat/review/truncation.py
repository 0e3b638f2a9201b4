"""Pruning old histories: the rules shared by ``manage.py truncate_history`` and the admin.

First a plan (what would go, exactly), then its application in small batches. The rules:

- System messages, the conversation's system prompt and its stored summary stay.
- A message still being written (pending, streaming) stays, and so does everything it needs.
- The versions of a message (regenerated answers, edited user messages, at the same seq) go
  or stay together, following the version that is shown.
- A branch not shown (what followed an earlier version of an edited message) goes or stays
  with the place it branches from: it is not counted by ``keep_last`` or dated by
  ``older_than`` on its own, and it never outlives the message it follows, so no reply is
  left without its question and no branch without its start.
- ``keep_last`` keeps the newest N messages of each conversation; ``older_than`` deletes
  messages created before the cutoff, and conversations left empty whose last activity is
  before it too. Given both, a message goes only when both say so.
- A message something kept depends on stays: the question a kept answer replies to (deleting
  it would take the answer with it), and a tool call and its result, which only make sense
  together. So a second run over the same data deletes nothing.
- Pruning deletes whole messages and never edits one. An answer's reasoning (its text, the
  hidden-by-the-provider flag, time, tokens and the provider's opaque state) is stored on the
  answer's own row, so it goes with its answer and stays, unchanged, with a kept one: what is
  stored is still what was shown. A kept tool call keeps the reasoning state its provider
  needs back with it, as it keeps its result.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from chat import attachments
from chat.models import Conversation, Message
from chat.review.branches import branch_starts

Role = Message.Role
Slot = tuple[int, str]  # (seq, role): a message and its versions


@dataclass
class Cut:
    """What goes from one conversation."""

    conversation_id: int
    owner: str
    title: str
    message_ids: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    kept: int = 0
    delete_conversation: bool = False

    def describe(self, *, dry_run: bool) -> str:
        verb = "Would delete" if dry_run else "Deleted"
        name = f'conversation {self.conversation_id} "{self.title}" ({self.owner})'
        if self.delete_conversation:
            return f"{verb} {name}: left empty, {plural(len(self.message_ids), 'message')}."
        return (
            f"{verb} from {name}: {plural(len(self.message_ids), 'message')} "
            f"(seq {seq_ranges(self.seqs)}), {self.kept} left."
        )


@dataclass
class Plan:
    cuts: list[Cut]
    made_at: datetime
    cutoff: datetime | None

    @property
    def messages(self) -> int:
        return sum(len(cut.message_ids) for cut in self.cuts)

    @property
    def conversations(self) -> int:
        """Conversations that lose messages but stay."""
        return sum(1 for cut in self.cuts if not cut.delete_conversation)

    @property
    def empty_conversations(self) -> int:
        return sum(1 for cut in self.cuts if cut.delete_conversation)

    def per_owner(self) -> dict[str, tuple[int, int, int]]:
        """owner → (conversations truncated, conversations deleted, messages)."""
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for cut in self.cuts:
            totals[cut.owner][1 if cut.delete_conversation else 0] += 1
            totals[cut.owner][2] += len(cut.message_ids)
        return {owner: (t[0], t[1], t[2]) for owner, t in sorted(totals.items())}


@dataclass(frozen=True)
class Result:
    messages: int
    conversations: int
    files: int = 0  # attachments no message refers to any more, and abandoned uploads


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def seq_ranges(seqs: Iterable[int]) -> str:
    """[1, 2, 3, 5, 7, 8] → "1-3, 5, 7-8"."""
    parts = []
    ordered = sorted(set(seqs))
    for _, run in itertools.groupby(enumerate(ordered), lambda pair: pair[1] - pair[0]):
        numbers = [seq for _, seq in run]
        first, last = numbers[0], numbers[-1]
        parts.append(str(first) if first == last else f"{first}-{last}")
    return ", ".join(parts)


def summary(plan: Plan, *, dry_run: bool) -> str:
    verb = "Would delete" if dry_run else "Deleted"
    text = (
        f"{verb} {plural(plan.messages, 'message')} from "
        f"{plural(plan.conversations, 'conversation')}, "
        f"and {plural(plan.empty_conversations, 'empty conversation')}."
    )
    return text + (" Dry run: nothing was changed." if dry_run else "")


# Planning ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    seq: int
    role: str
    status: str
    active: bool
    reply_to_id: int | None
    parent_id: int | None
    tool_call_id: str
    call_ids: tuple[str, ...]
    created_at: datetime


ROW_FIELDS = (
    "id",
    "conversation_id",
    "seq",
    "role",
    "status",
    "active",
    "reply_to_id",
    "parent_id",
    "tool_call_id",
    "tool_calls",
    "created_at",
)


def _rows(conversations: QuerySet[Conversation]) -> Iterator[tuple[int, list[_Row]]]:
    """Each conversation's messages in seq order, a conversation at a time, without holding
    the whole table in memory."""
    messages = (
        Message.objects.filter(conversation__in=conversations.values("pk"))
        .order_by("conversation_id", "seq", "id")
        .values_list(*ROW_FIELDS)
    )
    current = -1
    rows: list[_Row] = []
    for values in messages.iterator(chunk_size=5000):
        pk, conversation_id, seq, role, status, active, reply_to, parent, call_id, calls, made = (
            values
        )
        if conversation_id != current:
            if rows:
                yield current, rows
            current, rows = conversation_id, []
        rows.append(
            _Row(pk, seq, role, status, active, reply_to, parent, call_id, _ids(calls), made)
        )
    if rows:
        yield current, rows


def _ids(calls: object) -> tuple[str, ...]:
    if not isinstance(calls, list):
        return ()
    return tuple(str(c["id"]) for c in calls if isinstance(c, dict) and c.get("id"))


def _doomed(rows: list[_Row], keep_last: int | None, cutoff: datetime | None) -> set[Slot]:
    """The slots of one conversation that go."""
    slots: dict[Slot, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.role != Role.SYSTEM:
            slots[(row.seq, row.role)].append(row)

    def shown(members: list[_Row]) -> _Row:
        active = [row for row in members if row.active]
        return max(active or members, key=lambda row: (row.created_at, row.id))

    branches = _branch_starts(rows)
    newest_first = sorted((slot for slot in slots if slot not in branches), reverse=True)
    doomed = set()
    for rank, slot in enumerate(newest_first):
        members = slots[slot]
        if any(row.status in Message.LIVE for row in members):
            continue
        if keep_last is not None and rank < keep_last:
            continue
        if cutoff is not None and shown(members).created_at >= cutoff:
            continue
        doomed.add(slot)
    # A branch not shown goes with the place it starts from, unless it is being written.
    doomed |= {
        slot for slot in branches if not any(row.status in Message.LIVE for row in slots[slot])
    }

    # What stays keeps what it depends on, until nothing changes.
    slot_of = {row.id: (row.seq, row.role) for row in rows}
    call_slot = {cid: (row.seq, row.role) for row in rows for cid in row.call_ids}
    needs: dict[Slot | int, set[Slot]] = defaultdict(set)
    for slot, start in branches.items():
        needs[slot].add(start)
        needs[start].add(slot)
    for row in rows:
        me: Slot | int = row.id if row.role == Role.SYSTEM else (row.seq, row.role)
        if row.reply_to_id in slot_of:
            needs[me].add(slot_of[row.reply_to_id])
        if row.role == Role.TOOL and row.tool_call_id in call_slot:
            needs[me].add(call_slot[row.tool_call_id])
            needs[call_slot[row.tool_call_id]].add((row.seq, row.role))
    staying: list[Slot | int] = [s for s in needs if s not in doomed]
    while staying:
        for needed in needs[staying.pop()]:
            if needed in doomed:
                doomed.discard(needed)
                staying.append(needed)
    return doomed


def _branch_starts(rows: list[_Row]) -> dict[Slot, Slot]:
    """The slots of the branches not shown, each with the slot shown its branch starts from."""
    slot_of = {row.id: (row.seq, row.role) for row in rows}
    return {slot_of[pk]: start for pk, (start, _) in branch_starts(rows).items()}


def plan_truncation(
    conversations: QuerySet[Conversation],
    *,
    keep_last: int | None = None,
    cutoff: datetime | None = None,
) -> Plan:
    """What pruning ``conversations`` would delete; changes nothing."""
    if keep_last is None and cutoff is None:
        raise ValueError("say how much to keep: keep_last, cutoff or both")
    made_at = timezone.now()
    info = {
        pk: (owner, title, updated_at)
        for pk, owner, title, updated_at in conversations.order_by().values_list(
            "pk", "owner__username", "title", "updated_at"
        )
    }
    cuts: dict[int, Cut] = {}
    seen: set[int] = set()
    for conversation_id, rows in _rows(conversations):
        seen.add(conversation_id)
        owner, title, updated_at = info[conversation_id]
        doomed = _doomed(rows, keep_last, cutoff)
        gone = [row for row in rows if (row.seq, row.role) in doomed]
        left = [
            row for row in rows if row.role != Role.SYSTEM and (row.seq, row.role) not in doomed
        ]
        empty = cutoff is not None and not left and updated_at < cutoff
        if empty:
            gone = rows  # the system messages go with their conversation
        if gone:
            cuts[conversation_id] = Cut(
                conversation_id,
                owner,
                title,
                message_ids=[row.id for row in gone],
                seqs=[row.seq for row in gone],
                kept=len(rows) - len(gone),
                delete_conversation=empty,
            )
        elif empty:
            cuts[conversation_id] = Cut(conversation_id, owner, title, delete_conversation=True)
    if cutoff is not None:
        for conversation_id, (owner, title, updated_at) in info.items():
            if conversation_id not in seen and updated_at < cutoff:
                cuts[conversation_id] = Cut(conversation_id, owner, title, delete_conversation=True)
    return Plan(cuts=[cuts[pk] for pk in sorted(cuts)], made_at=made_at, cutoff=cutoff)


# Applying ----------------------------------------------------------------------------------


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def apply_truncation(
    plan: Plan, *, batch_size: int = 1000, progress: Callable[[int], None] | None = None
) -> Result:
    """Delete what ``plan`` lists, ``batch_size`` rows per transaction, so no lock on the
    messages table is held for long. Rechecks each row: a message that started streaming
    since the plan was made, or got a new answer, stays."""
    # Newest first: an answer goes in the same batch as its question or an earlier one, so a
    # batch does not cascade into rows of later batches and stays the size asked for.
    ids = sorted((pk for cut in plan.cuts for pk in cut.message_ids), reverse=True)
    changed_since = Q(status__in=Message.LIVE) | Q(created_at__gte=plan.made_at)
    new_answers = Message.objects.filter(changed_since, reply_to=OuterRef("pk"))
    messages = 0
    for batch in _batches(ids, batch_size):
        with transaction.atomic():
            doomed = (
                Message.objects.filter(pk__in=batch)
                .exclude(status__in=Message.LIVE)
                .exclude(Exists(new_answers))
            )
            _, counts = doomed.only("pk").delete()
        messages += counts.get("chat.Message", 0)
        if progress is not None:
            progress(messages)

    conversations = 0
    empty = [cut.conversation_id for cut in plan.cuts if cut.delete_conversation]
    remaining = Message.objects.filter(conversation=OuterRef("pk")).exclude(role=Role.SYSTEM)
    for batch in _batches(empty, batch_size):
        with transaction.atomic():
            doomed_conversations = Conversation.objects.filter(
                pk__in=batch, updated_at__lt=plan.cutoff
            ).exclude(Exists(remaining))
            _, counts = doomed_conversations.delete()
        conversations += counts.get("chat.Conversation", 0)
        messages += counts.get("chat.Message", 0)
    files = attachments.forget_unreferenced()
    return Result(messages=messages, conversations=conversations, files=files)
