from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.utils import timezone

from streaming.events import REASONING_EFFORTS

# A conversation's own settings, as the settings API, the ``send`` frame and the page name them.
SETTING_NAMES = (
    "system_prompt",
    "model",
    "temperature",
    "top_p",
    "max_output_tokens",
    "reasoning_effort",
    "tools",
)


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What a sent message (or the settings API) changes of a conversation's settings: new
    values by name (of ``SETTING_NAMES``); a name left out stays as it is (a new conversation
    then gets the default). ``None`` is a value for the settings that allow it (temperature:
    the provider's default)."""

    values: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.values) - set(SETTING_NAMES)
        if unknown:
            raise ValueError(f"not conversation settings: {sorted(unknown)}")

    def merged(self, other: SettingsChange) -> SettingsChange:
        """This change, then ``other`` over it."""
        return SettingsChange({**self.values, **other.values})

    def changed(self, conversation: Conversation) -> dict[str, object]:
        """The fields of ``conversation`` this change gives new values, and those values."""
        return {
            name: value
            for name, value in self.values.items()
            if value != getattr(conversation, name)
        }

    def apply(self, conversation: Conversation) -> list[str]:
        """Set the changed fields on ``conversation`` (unsaved); the names changed."""
        changed = self.changed(conversation)
        for name, value in changed.items():
            setattr(conversation, name, value)
        return list(changed)


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, help_text="provider:model used for new answers")
    system_prompt = models.TextField(blank=True)
    temperature = models.FloatField(
        null=True,
        blank=True,
        help_text="sampling temperature, 0 to 2; null: the provider's default",
    )
    top_p = models.FloatField(
        null=True, blank=True, help_text="nucleus sampling, above 0 up to 1; null: the default"
    )
    max_output_tokens = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="the longest answer, in tokens (up to MAX_OUTPUT_TOKENS); null: the model's",
    )
    tools = models.JSONField(default=list, blank=True, help_text="names of the enabled tools")
    reasoning_effort = models.CharField(
        max_length=8,
        choices=[(effort, effort) for effort in REASONING_EFFORTS],
        default="off",
        help_text="how hard models that can reason think before answering; off: their default",
    )
    summary = models.TextField(
        blank=True, help_text="summary of the messages that fell out of the context window"
    )
    summary_through_seq = models.PositiveIntegerField(
        default=0, help_text="the summary covers messages up to this seq"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"

    @classmethod
    def start(
        cls, owner: object, model: str, content: str, change: SettingsChange | None = None
    ) -> Conversation:
        title = " ".join(content.split())[:80]
        conversation = cls(
            owner=owner, model=model, title=title, system_prompt=settings.DEFAULT_SYSTEM_PROMPT
        )
        (change or SettingsChange()).apply(conversation)
        conversation.save()
        return conversation

    @classmethod
    def add_message_for(
        cls,
        owner: object,
        conversation_id: int | None,
        model: str,
        content: str,
        change: SettingsChange | None = None,
    ) -> Message:
        """A user's message, in a new conversation or one of their own, with the settings
        ``change`` it was sent with applied to the conversation."""
        if conversation_id is None:
            conversation = cls.start(owner, model, content, change)
        else:
            conversation = cls.objects.get(pk=conversation_id, owner=owner)
            changed = (change or SettingsChange()).apply(conversation)
            if changed:
                conversation.save(update_fields=changed)
        return conversation.add_user_message(content)

    def conversation_settings(self) -> dict[str, object]:
        """Its settings, by the names of ``SETTING_NAMES``."""
        return {name: getattr(self, name) for name in SETTING_NAMES}

    def add_user_message(self, content: str) -> Message:
        now = timezone.now()
        message = self.messages.create(
            role=Message.Role.USER, text=content, seq=self.next_seq(), created_at=now
        )
        Conversation.objects.filter(pk=self.pk).update(updated_at=now)
        return message

    def next_seq(self) -> int:
        last = self.messages.aggregate(models.Max("seq"))["seq__max"]
        return (last or 0) + 1

    def current_messages(self) -> models.QuerySet[Message]:
        """The messages shown and sent to the model: every version but the inactive ones."""
        return self.messages.filter(active=True).order_by("seq")


class Message(models.Model):
    class Role(models.TextChoices):
        SYSTEM = "system"
        USER = "user"
        ASSISTANT = "assistant"
        TOOL = "tool"

    class Status(models.TextChoices):
        PENDING = "pending"
        STREAMING = "streaming"
        COMPLETE = "complete"
        STOPPED = "stopped"
        FAILED = "failed"
        INTERRUPTED = "interrupted"

    LIVE = (Status.PENDING, Status.STREAMING)
    CONTINUABLE = (Status.STOPPED, Status.FAILED, Status.INTERRUPTED)
    # A complete answer the model ended at its output limit can go on too (its finish reason).
    LENGTH_LIMITED = "length"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    reasoning = models.TextField(
        blank=True, help_text="for an answer: the model's reasoning, as shown, apart from its text"
    )
    reasoning_redacted = models.BooleanField(
        default=False, help_text="the provider hid (some of) the reasoning"
    )
    reasoning_ms = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="from the first reasoning to the first answer text (or the end); null: none",
    )
    reasoning_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="of the output tokens, those spent reasoning"
    )
    reasoning_state = models.JSONField(
        null=True,
        blank=True,
        help_text="what the provider needs back with this turn (opaque; signatures, items)",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.COMPLETE, db_index=True
    )
    model = models.CharField(max_length=200, blank=True)
    seq = models.PositiveIntegerField(help_text="order within the conversation")
    reply_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="answers",
        help_text="for an answer: the message it answers; versions of an answer share it",
    )
    active = models.BooleanField(default=True, help_text="false for an earlier version")
    tool_calls = models.JSONField(default=list, blank=True)
    settings = models.JSONField(
        null=True,
        blank=True,
        help_text="for an answer: the settings it was produced with, the instructions as sent "
        "and what the provider adapted (notes)",
    )
    tool_call_id = models.CharField(max_length=200, blank=True)
    token_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="tokens this message takes in a context (exact or counted)"
    )
    context_from_seq = models.PositiveIntegerField(
        null=True, blank=True, help_text="for an answer: the oldest message sent to the model"
    )
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True, help_text="time to first token")
    tokens_per_second = models.FloatField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True, help_text="what the user was told")
    error_detail = models.TextField(blank=True, help_text="the precise reason, for operators")
    owner_channel = models.CharField(
        max_length=200, blank=True, help_text="channel of the process running this answer"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["conversation", "seq"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    @property
    def continuable(self) -> bool:
        """Whether the answer can go on from its text: it was stopped, failed or interrupted, or
        the model stopped at the length limit."""
        return self.can_continue(self.status, self.finish_reason)

    @classmethod
    def can_continue(cls, status: str, finish_reason: str) -> bool:
        return status in cls.CONTINUABLE or (
            status == cls.Status.COMPLETE and finish_reason == cls.LENGTH_LIMITED
        )

    @classmethod
    def continuable_answers(cls) -> models.Q:
        """The answers ``continuable`` is true of, as a filter."""
        return models.Q(status__in=cls.CONTINUABLE) | models.Q(
            status=cls.Status.COMPLETE, finish_reason=cls.LENGTH_LIMITED
        )

    def versions(self) -> models.QuerySet[Message]:
        """Every version of this answer: a regenerated answer takes its predecessor's place
        (same seq); answers from several models in compare mode sit at different seqs."""
        return Message.objects.filter(
            conversation_id=self.conversation_id, seq=self.seq, role=self.role
        ).order_by("created_at", "pk")

    def make_current(self) -> None:
        """Show this version, and send it to the model, instead of the others."""
        self.versions().exclude(pk=self.pk).update(active=False)
        Message.objects.filter(pk=self.pk).update(active=True)
        self.active = True


class APIToken(models.Model):
    """A personal token for the SSE API. Only a hash is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="the first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
