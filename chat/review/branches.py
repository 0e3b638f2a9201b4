"""Where the branches not shown of a conversation start, for the admin's transcript and for
pruning: a message no version of which is shown belongs to the branch of an edited user
message's other version, which starts at a place that is shown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from chat.models import Message

Slot = tuple[int, str]  # (seq, role): a message and its versions


class Row(Protocol):
    id: int
    seq: int
    role: str
    active: bool
    reply_to_id: int | None
    parent_id: int | None


def branch_starts(rows: Iterable[Row]) -> dict[int, tuple[Slot, int]]:
    """Message id -> (the place shown its branch starts from, the id of the user message
    there whose branch it is), for every message of a branch not shown. A message whose
    branch cannot be traced back to a place shown (pruned by hand) is not listed."""
    rows = list(rows)
    by_id = {row.id: row for row in rows}
    shown = {(row.seq, row.role) for row in rows if row.active}

    def start(row: Row | None) -> tuple[Slot, int] | None:
        seen = set()
        while row is not None and row.id not in seen:
            seen.add(row.id)
            if row.role != Message.Role.USER:
                row = by_id.get(row.reply_to_id) if row.reply_to_id else None
                continue
            if (row.seq, row.role) in shown:
                return (row.seq, row.role), row.id
            row = by_id.get(row.parent_id) if row.parent_id else None
        return None

    starts = {}
    for row in rows:
        if (row.seq, row.role) not in shown and (found := start(row)) is not None:
            starts[row.id] = found
    return starts
