from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, smart_split

from chat import attachments
from chat.models import SETTING_NAMES, Conversation, Message, Preset
from chat.review import dashboard, transcripts
from chat.review.export import export
from chat.review.truncation import apply_truncation, plan_truncation, summary
from chat.web.requests import BadSettings, conversation_settings

Role = Message.Role
Status = Message.Status

# The admin index links to the dashboard; the site is the project's one default site.
admin.site.index_template = "admin/chat/index.html"


def _per_conversation(expression: Any, **filters: Any) -> Coalesce:
    """A sortable per-row aggregate over the conversation's messages, as a correlated subquery:
    computed for the rows of the page only, not for the whole messages table as a join with
    GROUP BY would be."""
    rows = (
        Message.objects.filter(conversation=OuterRef("pk"), **filters)
        .order_by()
        .values("conversation")
        .annotate(value=expression)
        .values("value")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _models_in_use(request: HttpRequest) -> list[str]:
    # Both model filters need the list; one query per page.
    if not hasattr(request, "_chat_models"):
        answers = Message.objects.filter(role=Role.ASSISTANT).exclude(model="")
        used = set(answers.order_by().values_list("model", flat=True).distinct())
        used |= set(Conversation.objects.order_by().values_list("model", flat=True).distinct())
        request._chat_models = sorted(model for model in used if model)  # type: ignore[attr-defined]
    return request._chat_models  # type: ignore[attr-defined]


def _messages_with(**filters: Any) -> Exists:
    return Exists(Message.objects.filter(conversation=OuterRef("pk"), **filters))


class ProviderFilter(admin.SimpleListFilter):
    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        providers = sorted({dashboard.provider_of(model) for model in _models_in_use(request)})
        return [(provider, provider) for provider in providers]

    def queryset(self, request, queryset):
        if self.value():
            prefix = f"{self.value()}:"
            return queryset.filter(
                Q(model__startswith=prefix) | _messages_with(model__startswith=prefix)
            )
        return queryset


class ModelFilter(admin.SimpleListFilter):
    title = "model"
    parameter_name = "model"

    def lookups(self, request, model_admin):
        return [(model, model) for model in _models_in_use(request)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(Q(model=self.value()) | _messages_with(model=self.value()))
        return queryset


class StatusFilter(admin.SimpleListFilter):
    title = "answers that are"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status, label) for status, label in Status.choices if status != Status.COMPLETE]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(_messages_with(role=Role.ASSISTANT, status=self.value()))
        return queryset


class ConversationChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Models and statuses of the page's conversations in one grouped query, so the list
        # costs the same number of queries for 5 conversations as for 100.
        page = list(self.result_list)
        models: dict[int, set[str]] = defaultdict(set)
        statuses: dict[int, Counter[str]] = defaultdict(Counter)
        answers = Message.objects.filter(conversation__in=[c.pk for c in page], role=Role.ASSISTANT)
        grouped = (
            answers.order_by()
            .values_list("conversation_id", "model", "status")
            .annotate(n=Count("id"))
        )
        for conversation_id, model, status, n in grouped:
            if model:
                models[conversation_id].add(model)
            statuses[conversation_id][status] += n
        for conversation in page:
            conversation.answer_models = sorted(models[conversation.pk] | {conversation.model})
            conversation.answer_statuses = statuses[conversation.pk]


class TruncateForm(forms.Form):
    keep_last = forms.IntegerField(
        required=False, min_value=0, label="Keep the newest N messages of each conversation"
    )
    older_than = forms.IntegerField(
        required=False, min_value=1, label="Delete messages older than this many days"
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("keep_last") is None and cleaned.get("older_than") is None:
            raise forms.ValidationError("Say what to keep: N messages, an age in days, or both.")
        return cleaned


def _reasoning_times(
    times: dashboard.Spread | None, figures: dashboard.Reasoning
) -> tuple[str, str, str]:
    """Median, average and 90% reasoning time, read as the transcript says them ("12 s")."""
    if times is None or figures.mean_ms is None:
        return ("", "", "")
    return (
        transcripts.seconds(round(times.p50)),
        transcripts.seconds(round(figures.mean_ms)),
        transcripts.seconds(round(times.p90)),
    )


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    # How the answers ended comes right after the title: at 1280 px it is the column a
    # reviewer looks for, and the last one would be pushed off the right edge.
    list_display = (
        "title_",
        "statuses",
        "owner",
        "models_",
        "message_count",
        "tokens",
        "last_activity",
    )
    list_select_related = ("owner",)
    list_filter = (
        ("owner", admin.RelatedOnlyFieldListFilter),
        ProviderFilter,
        ModelFilter,
        StatusFilter,
        ("updated_at", admin.DateFieldListFilter),
    )
    search_fields = ("title", "owner__username")
    search_help_text = "Searches titles, owners and the text of the messages."
    fields = (
        "owner",
        "title",
        "model",
        "system_prompt",
        "tools",
        "reasoning_effort",
        "summary",
        "summary_through_seq",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["export_json", "truncate_selected"]
    transcript_limit = 500

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.annotate(
            n_messages=_per_conversation(Count("id"), active=True),
            n_input_tokens=_per_conversation(Sum("input_tokens")),
            n_output_tokens=_per_conversation(Sum("output_tokens")),
        )

    def get_search_results(self, request, queryset, search_term):
        # Message text is searched with EXISTS rather than a join, so a conversation that
        # matches in many messages is still one row, without DISTINCT over every column.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        words = [word.strip("\"'") for word in smart_split(search_term)]
        if words := [word for word in words if word]:
            in_messages = queryset
            for word in words:
                in_messages = in_messages.filter(_messages_with(text__icontains=word))
            found |= in_messages
        return found, may_have_duplicates

    def get_changelist(self, request, **kwargs):
        return ConversationChangeList

    # Conversations are made by chatting and are evidence of what happened: nobody edits
    # them here. Viewing, exporting, pruning and deleting stay.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting a conversation whose answer is being written would pull the rows from
        # under the process writing it.
        if obj is not None and obj.messages.filter(status__in=Message.LIVE).exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        live = queryset.filter(_messages_with(status__in=Message.LIVE))
        if n := live.count():
            self.message_user(
                request,
                f"{n} conversation(s) with an answer being written were kept.",
                messages.WARNING,
            )
        queryset.exclude(pk__in=live.values("pk")).delete()
        attachments.forget_unreferenced()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        attachments.forget_unreferenced()

    @admin.display(description="title", ordering="title")
    def title_(self, obj):
        return obj.title or f"Conversation {obj.pk}"  # at most two lines in the list (admin.css)

    @admin.display(description="model(s)")
    def models_(self, obj):
        return format_html_join(mark_safe("<br>"), "{}", ((m,) for m in obj.answer_models))

    @admin.display(description="last activity", ordering="updated_at")
    def last_activity(self, obj):
        return obj.updated_at

    @admin.display(description="messages", ordering="n_messages")
    def message_count(self, obj):
        return obj.n_messages

    @admin.display(description="tokens in / out", ordering="n_output_tokens")
    def tokens(self, obj):
        return f"{obj.n_input_tokens:,} / {obj.n_output_tokens:,}"

    @admin.display(description="answers")
    def statuses(self, obj):
        counter = obj.answer_statuses
        return format_html_join(
            " ",
            '<span class="chat-status chat-status-{}">{} {}</span>',
            ((s, counter[s], s) for s in dashboard.STATUS_ORDER if counter.get(s)),
        )

    # The transcript -------------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            show_all = request.GET.get("transcript") == "all"
            limit = None if show_all else self.transcript_limit
            context["transcript"] = transcripts.entries(obj, limit=limit)
            context["transcript_limit"] = self.transcript_limit
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Actions ---------------------------------------------------------------------------------

    @admin.action(description="Export selected conversations as JSON", permissions=["view"])
    def export_json(self, request, queryset):
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            export(queryset.order_by("pk")), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="conversations-{stamp}.json"'
        return response

    @admin.action(description="Truncate selected conversations…", permissions=["delete"])
    def truncate_selected(self, request, queryset):
        submitted = "preview" in request.POST or "apply" in request.POST
        form = TruncateForm(request.POST if submitted else None)
        plan = None
        if form.is_bound and form.is_valid():
            keep_last = form.cleaned_data["keep_last"]
            older_than = form.cleaned_data["older_than"]
            cutoff = timezone.now() - timedelta(days=older_than) if older_than else None
            plan = plan_truncation(queryset, keep_last=keep_last, cutoff=cutoff)
            if "apply" in request.POST:
                result = apply_truncation(plan)
                self.message_user(
                    request,
                    f"{summary(plan, dry_run=False)} ({result.messages} messages and "
                    f"{result.conversations} conversations were deleted.)",
                    messages.SUCCESS,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Truncate conversations",
            "opts": self.opts,
            "form": form,
            "plan": plan,
            "lines": [cut.describe(dry_run=True) for cut in plan.cuts] if plan else [],
            "plan_summary": summary(plan, dry_run=True) if plan else "",
            "queryset": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/chat/conversation/truncate.html", context)

    # The dashboard ---------------------------------------------------------------------------

    def get_urls(self):
        dashboard_url = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_view),
            name="chat_conversation_dashboard",
        )
        return [dashboard_url, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 7)), 1), 90)
        except ValueError:
            days = 7
        stats = dashboard.answer_stats(timezone.now() - timedelta(days=days))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Answers of the last {days} days",
            "opts": self.opts,
            "days": days,
            "day_choices": (1, 7, 30, 90),
            "stats": stats,
            "status_chart": dashboard.status_chart(stats.statuses),
            "ttft_chart": dashboard.spread_chart(stats.ttft_ms, "Time to first token", "ms"),
            "speed_chart": dashboard.spread_chart(
                stats.tokens_per_second, "Tokens per second", "tok/s"
            ),
            "reasoning_chart": dashboard.spread_chart(
                dashboard.in_seconds(stats.reasoning_ms), "Reasoning time", "s", decimals=1
            ),
            "statuses": dashboard.STATUS_ORDER,
            "status_rows": [
                (provider, [counter[s] for s in dashboard.STATUS_ORDER])
                for provider, counter in stats.statuses.items()
            ],
            "timing_rows": [
                (model, stats.ttft_ms.get(model), stats.tokens_per_second.get(model))
                for model in sorted(stats.ttft_ms.keys() | stats.tokens_per_second.keys())
            ],
            "reasoning_rows": [
                (model, figures, _reasoning_times(stats.reasoning_ms.get(model), figures))
                for model, figures in stats.reasoning.items()
            ],
            "file_storage": dashboard.file_storage(),
        }
        return TemplateResponse(request, "admin/chat/dashboard.html", context)


# Presets --------------------------------------------------------------------------------------


class PresetForm(forms.ModelForm):
    class Meta:
        model = Preset
        fields = ("name", "owner", "settings")
        help_texts = {
            "owner": "Leave empty for a site-wide preset, offered to every user.",
            "settings": (
                'A JSON object with any of: {}. For example {{"temperature": 0.2, '
                '"tools": ["calculator"]}}.'.format(", ".join(SETTING_NAMES))
            ),
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A preset needs a name.")
        return name

    def clean_settings(self):
        # The same check as the settings API's, so a preset saved here can always be applied.
        try:
            change = conversation_settings(self.cleaned_data["settings"])
        except BadSettings as refused:
            raise forms.ValidationError(f"{refused.field}: {refused.detail}") from None
        if not change.values:
            raise forms.ValidationError("A preset holds at least one setting.")
        return dict(change.values)


class PresetKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("site", "site-wide"), ("user", "a user's")]

    def queryset(self, request, queryset):
        if self.value() == "site":
            return queryset.filter(owner__isnull=True)
        if self.value() == "user":
            return queryset.filter(owner__isnull=False)
        return queryset


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    """Site-wide presets are defined here (with no owner); users' own are made in the chat's
    settings panel and shown here too."""

    form = PresetForm
    list_display = ("name", "owner_", "settings_", "created_at")
    list_select_related = ("owner",)
    list_filter = (PresetKindFilter,)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    ordering = (F("owner").asc(nulls_first=True), "name")

    @admin.display(description="owner", ordering="owner__username")
    def owner_(self, obj):
        return obj.owner or "site-wide"

    @admin.display(description="settings")
    def settings_(self, obj):
        return ", ".join(
            f"{name}={Truncator(repr(value)).chars(40)}" for name, value in obj.settings.items()
        )
