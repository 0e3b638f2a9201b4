from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chat.models import Conversation
from chat.review.truncation import apply_truncation, plan_truncation, plural, summary


def whole_number(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value!r}")
        return number

    return parse


class Command(BaseCommand):
    help = """Prune old conversation histories.

    Deletes messages beyond the newest N of each conversation (--keep-last), or created
    more than DAYS ago (--older-than; conversations left empty and inactive that long go
    too), or, given both, those that both options would delete. Messages still being
    written, system messages, system prompts and stored summaries are never deleted, nor
    the question a kept answer replies to, nor half of a tool call. Whole messages go or
    stay: an answer's reasoning (and the state its provider needs back) goes with it, and a
    kept answer keeps all of its reasoning. Run it with --dry-run first: it prints exactly
    what would go.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--keep-last",
            type=whole_number(0),
            metavar="N",
            help="keep the newest N messages of each conversation",
        )
        parser.add_argument(
            "--older-than",
            type=whole_number(1),
            metavar="DAYS",
            help="delete messages, and empty conversations, older than DAYS days",
        )
        parser.add_argument("--user", metavar="USERNAME", help="only this user's conversations")
        parser.add_argument(
            "--conversation",
            type=whole_number(1),
            action="append",
            metavar="ID",
            help="only this conversation (repeat for several)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would go, change nothing"
        )
        parser.add_argument(
            "--batch-size",
            type=whole_number(1),
            default=1000,
            metavar="ROWS",
            help="rows deleted per transaction (default: 1000)",
        )

    def handle(
        self,
        *,
        keep_last: int | None,
        older_than: int | None,
        user: str | None,
        conversation: list[int] | None,
        dry_run: bool,
        batch_size: int,
        verbosity: int,
        **options: Any,
    ) -> None:
        if keep_last is None and older_than is None:
            raise CommandError("Say what to keep: --keep-last N, --older-than DAYS, or both.")

        conversations = Conversation.objects.all()
        if user is not None:
            if not get_user_model().objects.filter(username=user).exists():
                raise CommandError(f"No user named {user!r}.")
            conversations = conversations.filter(owner__username=user)
        if conversation:
            conversations = conversations.filter(pk__in=conversation)
            found = set(conversations.values_list("pk", flat=True))
            missing = sorted(set(conversation) - found)
            if missing:
                whose = f" of {user}" if user is not None else ""
                ids = ", ".join(str(pk) for pk in missing)
                raise CommandError(f"No conversation{whose} with id {ids}.")

        cutoff = None
        if older_than is not None:
            cutoff = timezone.now() - timedelta(days=older_than)
        plan = plan_truncation(conversations, keep_last=keep_last, cutoff=cutoff)

        if (dry_run and verbosity >= 1) or verbosity >= 2:
            for cut in plan.cuts:
                self.stdout.write(cut.describe(dry_run=dry_run))
        if verbosity >= 2:
            verb = "would lose" if dry_run else "lost"
            for owner, (truncated, emptied, messages) in plan.per_owner().items():
                self.stdout.write(
                    f"{owner}: {plural(truncated, 'conversation')} truncated, "
                    f"{plural(emptied, 'empty conversation')} deleted; "
                    f"{verb} {plural(messages, 'message')}."
                )

        if not dry_run:
            result = apply_truncation(plan, batch_size=batch_size)
            if (result.messages, result.conversations) != (
                plan.messages,
                plan.empty_conversations,
            ):
                # Something started streaming or got a new answer while we worked: it stayed.
                self.stdout.write(
                    f"{result.messages} of {plan.messages} messages and "
                    f"{result.conversations} of {plan.empty_conversations} empty conversations "
                    "were deleted; the rest changed while this ran and were kept."
                )
        if verbosity >= 1:
            self.stdout.write(summary(plan, dry_run=dry_run))
            if not dry_run and result.files:
                self.stdout.write(
                    f"Deleted {plural(result.files, 'file')} no message refers to any more."
                )
