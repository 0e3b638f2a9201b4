from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import storages
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
    title_pending = models.BooleanField(
        default=True,
        help_text="the title is still the start of the first message: the model names the "
        "conversation once its first answer completes (a rename or a fork keeps its own)",
    )
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
    def start_with_message(
        cls,
        owner: object,
        model: str,
        content: str,
        change: SettingsChange | None = None,
        attachments: Sequence[int] = (),
    ) -> tuple[Message, list[Attachment]]:
        """A new conversation of ``owner``'s, with the settings ``change`` its first message
        was sent with, and that message with the user's files ``attachments`` (ids), returned
        beside it."""
        conversation = cls.start(owner, model, content, change)
        message = conversation.add_user_message(content, first=True)
        return message, message.attach(attachments)

    def add_message(
        self, content: str, change: SettingsChange | None = None, attachments: Sequence[int] = ()
    ) -> Message:
        """The user's next message, sent with the settings ``change`` (applied to the
        conversation) and the user's files ``attachments`` (ids)."""
        changed = (change or SettingsChange()).apply(self)
        if changed:
            self.save(update_fields=changed)
        message = self.add_user_message(content)
        message.attach(attachments)
        return message

    def conversation_settings(self) -> dict[str, object]:
        """Its settings, by the names of ``SETTING_NAMES``."""
        return {name: getattr(self, name) for name in SETTING_NAMES}

    def add_user_message(self, content: str, first: bool = False) -> Message:
        """The user's next message, at the end of the branch shown. ``first``: the
        conversation was just made, so nothing is before the message and it is as new as the
        conversation (nothing to ask the database)."""
        if first:
            return self.messages.create(
                role=Message.Role.USER, text=content, seq=1, created_at=self.updated_at
            )
        now = timezone.now()
        last = self.messages.filter(role=Message.Role.USER, active=True).order_by("-seq").first()
        message = self.messages.create(
            role=Message.Role.USER, text=content, seq=self.next_seq(), created_at=now, parent=last
        )
        Conversation.objects.filter(pk=self.pk).update(updated_at=now)
        self.updated_at = now
        return message

    def add_edit(
        self, edited: Message, content: str, attachments: Sequence[int] | None = None
    ) -> Message:
        """A new version of the user's message ``edited``: in its place, on a branch of its
        own, which becomes the one shown. What followed ``edited`` stays on its branch. It
        carries the files ``attachments`` (ids), or when None the ones ``edited`` carries."""
        now = timezone.now()
        edited.versions().update(chosen=False)
        message = self.messages.create(
            role=Message.Role.USER,
            text=content,
            seq=edited.seq,
            created_at=now,
            parent_id=edited.parent_id,
        )
        if attachments is None:
            attachments = [a.pk for a in edited.attachments.all()]
        message.attach(attachments)
        self.show_chosen_branch()
        Conversation.objects.filter(pk=self.pk).update(updated_at=now)
        self.updated_at = now
        return message

    def next_seq(self) -> int:
        last = self.messages.aggregate(models.Max("seq"))["seq__max"]
        return (last or 0) + 1

    def fork(self, at: Message) -> Conversation:
        """A new conversation of the same owner with these settings, made of the branch shown
        up to ``at`` (up to the message before it, for a user message, whose text is then
        the new conversation's to send again). Answers still being written are left out."""
        last_seq = at.seq - 1 if at.role == Message.Role.USER else at.seq
        copy = Conversation(
            owner_id=self.owner_id, title=f"{self} (fork)"[:200], title_pending=False
        )
        for name in SETTING_NAMES:
            setattr(copy, name, getattr(self, name))
        if self.summary and self.summary_through_seq <= last_seq:
            copy.summary, copy.summary_through_seq = self.summary, self.summary_through_seq
        copy.save()
        skip = {"id", "conversation", "reply_to", "parent", "owner_channel", "heartbeat_at"}
        names = [f.attname for f in Message._meta.concrete_fields if f.name not in skip]
        new_ids: dict[int, int] = {}
        shown = (
            self.current_messages()
            .filter(seq__lte=last_seq)
            .exclude(status__in=Message.LIVE)
            .prefetch_related("attachments")
        )
        for row in shown:
            if row.reply_to_id is not None and row.reply_to_id not in new_ids:
                continue  # a reply to a message not copied (still being written)
            made = Message.objects.create(
                conversation=copy,
                reply_to_id=new_ids.get(row.reply_to_id) if row.reply_to_id else None,
                parent_id=new_ids.get(row.parent_id) if row.parent_id else None,
                **{name: getattr(row, name) for name in names},
            )
            made.attachments.set(row.attachments.all())
            new_ids[row.pk] = made.pk
        return copy

    def current_messages(self) -> models.QuerySet[Message]:
        """The messages shown and sent to the model: those of the branch shown, in each place
        the version chosen."""
        return self.messages.filter(active=True).order_by("seq")

    def branch_shown(self) -> set[int]:
        """The ids of the user messages on the branch shown: from the first, in each place the
        version chosen (of several, the newest), then the places that follow it. User messages
        stored without a parent (by hand) follow the ones before them in seq order."""
        children: dict[int | None, list[tuple[int, bool, object, int]]] = {}
        rows = self.messages.filter(role=Message.Role.USER).values_list(
            "parent_id", "seq", "chosen", "created_at", "pk"
        )
        for parent_id, *rest in rows:
            children.setdefault(parent_id, []).append(tuple(rest))
        shown: set[int] = set()
        waiting = children.get(None, [])
        while waiting:
            place = min(seq for seq, *_ in waiting)
            chosen = max(row for row in waiting if row[0] == place)[3]
            shown.add(chosen)
            waiting = [row for row in waiting if row[0] > place] + children.get(chosen, [])
        return shown

    def show_chosen_branch(self) -> None:
        """Mark the messages shown (``active``): a message is when it is the version chosen in
        its place and its user message is on the branch shown (``branch_shown``). Messages of
        no user message (system messages) are shown when chosen."""
        users = self.branch_shown()
        rows = list(
            self.messages.values_list(
                "pk", "role", "chosen", "active", "reply_to_id", "reply_to__reply_to_id"
            )
        )
        role_of = {pk: role for pk, role, *_ in rows}
        shown, hidden = [], []
        for pk, role, chosen, active, reply_to, reply_to_reply in rows:
            if role == Message.Role.USER:
                turn: int | None = pk
            elif reply_to is not None and role_of.get(reply_to) == Message.Role.USER:
                turn = reply_to
            else:
                turn = reply_to_reply if reply_to is not None else None
            now_active = chosen and (turn is None or turn in users)
            if now_active != active:
                (shown if now_active else hidden).append(pk)
        if shown:
            Message.objects.filter(pk__in=shown).update(active=True)
        if hidden:
            Message.objects.filter(pk__in=hidden).update(active=False)
        changed = sorted(
            seq for seq in self.messages.filter(pk__in=shown + hidden).values_list("seq", flat=True)
        )
        if changed and self.summary_through_seq >= changed[0]:
            # The summary covers messages no longer shown: it is made again when needed.
            Conversation.objects.filter(pk=self.pk).update(summary="", summary_through_seq=0)
            self.summary, self.summary_through_seq = "", 0


class Attachment(models.Model):
    """A file a user uploaded to send with their messages. Its bytes are stored once per owner
    and content, at ``path`` in the ``attachments`` storage (several uploads of the same bytes
    share them); messages refer to it through ``Message.attachments``."""

    class Kind(models.TextChoices):
        IMAGE = "image"  # PNG, JPEG, WebP or GIF, re-encoded on upload
        PDF = "pdf"
        TEXT = "text"  # UTF-8 text: prose, code, data

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=100, help_text="of the bytes stored")
    size = models.PositiveBigIntegerField(help_text="bytes stored")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the bytes stored")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(
        blank=True, help_text="a text file's content, or a PDF's extracted text"
    )
    sent = models.BooleanField(
        default=False, help_text="has been sent with a message (else it is abandoned after a day)"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]  # a message's files in the order they were uploaded
        indexes = [
            models.Index(fields=["owner", "digest"]),
            models.Index(fields=["sent", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def path(self) -> str:
        """Where its bytes are, in the ``attachments`` storage: content-addressed per owner."""
        return f"{self.owner_id}/{self.digest}"

    def as_data(self) -> dict[str, object]:
        """What clients are told of it: on messages, in exports, in the upload's answer (which
        adds its ``url``)."""
        return {
            "id": self.pk,
            "name": self.name,
            "type": self.content_type,
            "kind": self.kind,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "pages": self.pages,
        }

    def read(self) -> bytes:
        with storages["attachments"].open(self.path, "rb") as f:
            return f.read()


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
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="for a user message: the user message before it on its branch; the versions "
        "of an edited message share it",
    )
    chosen = models.BooleanField(
        default=True, help_text="the version chosen in its place (of an answer, of an edit)"
    )
    active = models.BooleanField(
        default=True, help_text="shown and sent to the model: chosen, on the branch shown"
    )
    tool_calls = models.JSONField(default=list, blank=True)
    attachments = models.ManyToManyField(Attachment, related_name="messages", blank=True)
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
        """Every version of this message: a regenerated answer, an edited user message, takes
        its predecessor's place (same seq); answers from several models in compare mode sit at
        different seqs, and so does every message of a branch."""
        return Message.objects.filter(
            conversation_id=self.conversation_id, seq=self.seq, role=self.role
        ).order_by("created_at", "pk")

    def attach(self, attachment_ids: Sequence[int]) -> list[Attachment]:
        """Send the files ``attachment_ids`` with this message, and return them in its order.
        Each must be its conversation's owner's: else ``Attachment.DoesNotExist`` and nothing
        is attached."""
        if not attachment_ids:
            return []
        owner_id = Conversation.objects.values_list("owner_id", flat=True).get(
            pk=self.conversation_id
        )
        files = Attachment.objects.filter(owner_id=owner_id, pk__in=attachment_ids)
        found = list(files)
        if len(found) != len(set(attachment_ids)):
            raise Attachment.DoesNotExist("No such attachment")
        self.attachments.set(found)
        files.filter(sent=False).update(sent=True)
        for file in found:
            file.sent = True
        return found

    def turn(self) -> Message | None:
        """The user message this one belongs to: itself, the one an answer replies to, or the
        one the answer a tool result answers replies to."""
        message: Message | None = self
        while message is not None and message.role != Message.Role.USER:
            message = message.reply_to
        return message

    def keep_of_compared(self) -> None:
        """Of the answers given side by side to its question (compare mode), go on with this
        one: the others become its earlier versions, in its place, no longer sent to the
        model. Raises ``ValueError`` with a sentence when it cannot."""
        others = list(
            Message.objects.filter(
                conversation_id=self.conversation_id,
                reply_to_id=self.reply_to_id,
                role=Message.Role.ASSISTANT,
                active=True,
            ).exclude(pk=self.pk)
        )
        if not self.active or not others:
            raise ValueError("This answer is not one of several compared side by side.")
        if self.is_live or any(other.is_live for other in others):
            raise ValueError("Wait for the answers compared to end before keeping one.")
        compared = [self, *others]
        used_tools = Message.objects.filter(
            conversation_id=self.conversation_id, role=Message.Role.TOOL, reply_to__in=compared
        ).exists()
        if used_tools or any(m.tool_calls for m in compared):
            raise ValueError("Answers that called tools cannot be kept apart from the others.")
        Message.objects.filter(pk__in=[m.pk for m in others]).update(
            seq=self.seq, chosen=False, active=False
        )

    def make_current(self) -> None:
        """Show this version, and send it to the model, instead of the others; on another
        branch, show that branch."""
        chosen: Message | None = self
        if self.role != Message.Role.USER:
            self.versions().update(chosen=False)
            Message.objects.filter(pk=self.pk).update(chosen=True)
            chosen = self.turn()
        while chosen is not None:  # the user message, and every one before it on its branch
            chosen.versions().exclude(pk=chosen.pk).update(chosen=False)
            Message.objects.filter(pk=chosen.pk).update(chosen=True)
            chosen = chosen.parent
        self.conversation.show_chosen_branch()
        self.active = True


class Preset(models.Model):
    """Named settings a user (or, with no owner, the site) keeps to start conversations from or
    to fill the settings panel with: any of ``SETTING_NAMES``, checked as the settings API
    checks them."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="presets",
        help_text="empty: a site-wide preset, offered to everyone",
    )
    name = models.CharField(max_length=100)
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text="any of: " + ", ".join(SETTING_NAMES),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(owner__isnull=False),
                name="preset_name_unique_per_owner",
                violation_error_message="You already have a preset with this name.",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(owner__isnull=True),
                name="preset_name_unique_site_wide",
                violation_error_message="There is already a site-wide preset with this name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def site_wide(self) -> bool:
        return self.owner_id is None

    @classmethod
    def offered_to(cls, user: object) -> models.QuerySet[Preset]:
        """The site-wide presets, then the user's own, each by name."""
        return cls.objects.filter(models.Q(owner__isnull=True) | models.Q(owner=user)).order_by(
            models.F("owner").asc(nulls_first=True), "name", "pk"
        )

    @classmethod
    def keep(cls, owner: object, name: str, change: SettingsChange) -> tuple[Preset, bool]:
        """The user's preset ``name`` holding ``change``'s values: a new one, or the one of that
        name with its settings replaced; and whether it is new."""
        return cls.objects.update_or_create(
            owner=owner, name=name, defaults={"settings": dict(change.values)}
        )


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


class Preferences(models.Model):
    """What a user chose on the account page: the page's colours and the model a new chat
    starts with."""

    class Theme(models.TextChoices):
        SYSTEM = "system", "System"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    default_model = models.CharField(
        max_length=200,
        blank=True,
        help_text="provider:model a new chat starts with; empty: the site's",
    )

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user}"

    @classmethod
    def of(cls, user: object) -> Preferences:
        """The user's preferences, unsaved defaults when they never chose any."""
        found = cls.objects.filter(user=user).first()
        return found if found is not None else cls(user=user)
