"""The pages: the chat, sign-up and sign-in, API tokens, and the conversation list's
rename, delete and search."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import answers, attachments
from chat.models import APIToken, Conversation, Message
from chat.web import account, presets, ratelimit, tabs
from chat.web import api_tokens as api_tokens_module
from streaming.limits import LONGEST, default_output_tokens
from streaming.tools import TOOLS


def signup_open() -> bool:
    return settings.ALLOW_SIGNUP or not get_user_model().objects.exists()


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not signup_open():
        return render(request, "registration/signup_closed.html", status=403)
    first = not get_user_model().objects.exists()
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        if first:
            # The first account of a fresh install administers it, as in other self-hosted chats.
            user.is_staff = user.is_superuser = True
        user.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form, "first": first})


def _settings_defaults(models: list[str]) -> dict[str, object]:
    """What the settings panel shows for a setting left at its default."""
    ceiling = settings.MAX_OUTPUT_TOKENS
    return {
        "max_output_tokens_by_model": {
            model: default_output_tokens(
                model, ceiling, settings.MODEL_CONTEXT_LENGTHS, settings.MODEL_OUTPUT_TOKENS
            )
            for model in models
        },
        "max_output_tokens_ceiling": ceiling if ceiling is not None else LONGEST,
        "default_system_prompt": settings.DEFAULT_SYSTEM_PROMPT,
    }


def _conversation_data(c: Conversation) -> dict[str, object]:
    return {"id": c.pk, "title": str(c), "updated_at": c.updated_at.isoformat()}


def _model_groups(models: list[str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The picker's options, grouped by provider: [(provider's label, [(value, model name,
    label)])]; each label names the provider too ("gpt-4o · OpenAI"), as a closed picker shows
    the option alone, and two providers may serve models of the same name."""
    labels = answers.provider_labels()
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for name in models:
        provider, _, model = name.partition(":")
        label = labels.get(provider, provider)
        groups.setdefault(label, []).append((name, model or name, f"{model or name} · {label}"))
    return list(groups.items())


def _page_urls() -> dict[str, str]:
    """The addresses the page's scripts use; ``{id}`` stands for a conversation's (or a
    preset's) id."""
    placeholder = 999999999  # reversed as a number, then swapped for the placeholder
    by_id = {
        name: reverse(name, args=[placeholder]).replace(str(placeholder), "{id}")
        for name in (
            "conversation",
            "rename_conversation",
            "delete_conversation",
            "api_conversation_settings",
            "api_fork",
            "api_preset",
            "attachment_file",
        )
    }
    return {
        "home": reverse("home"),
        "search": reverse("search_conversations"),
        "socket": "/ws/chat/",
        "conversation": by_id["conversation"],
        "rename": by_id["rename_conversation"],
        "delete": by_id["delete_conversation"],
        "settings": by_id["api_conversation_settings"],
        "fork": by_id["api_fork"],  # {id}: a message's
        "presets": reverse("api_presets"),
        "preset": by_id["api_preset"],
        "attachments": reverse("api_attachments"),
        "attachment": by_id["attachment_file"],
    }


def _chat_page(request: HttpRequest, conversation: Conversation | None) -> HttpResponse:
    messages = []
    if conversation is not None:
        if conversation.current_messages().filter(status__in=Message.LIVE).exists():
            answers.sweep_stale_answers()  # show an answer whose process died as interrupted
        messages = answers.transcript(conversation)
    conversations = Conversation.objects.filter(owner=request.user)[:200]
    offered = answers.models()
    saved_default = account.default_model_for(request.user)
    return render(
        request,
        "chat/chat.html",
        {
            "conversation": conversation,
            "model_groups": _model_groups(offered),
            "tools": [(spec.name, spec.description) for spec in TOOLS.values()],
            "selected_model": (
                conversation.model if conversation else saved_default or answers.default_model()
            ),
            "saved_default": saved_default,
            "page_data": {
                "conversation": conversation.pk if conversation else None,
                "messages": messages,
                "reasoning_effort": conversation.reasoning_effort if conversation else "off",
                "reasoning_models": answers.reasoning_models(),
                "capabilities": answers.capabilities(),
                "provider_labels": answers.provider_labels(),
                "settings": conversation.conversation_settings() if conversation else None,
                "settings_defaults": _settings_defaults(offered),
                "presets": presets.offered(request.user),
                "conversations": [_conversation_data(c) for c in conversations],
                "urls": _page_urls(),
                "attachment_limits": {
                    "max_bytes": settings.MAX_UPLOAD_BYTES,
                    "max_files": settings.MAX_ATTACHMENTS_PER_MESSAGE,
                    "paste_as_file_chars": settings.PASTE_AS_FILE_CHARS,
                },
            },
        },
    )


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("signup" if not get_user_model().objects.exists() else "login")
    return _chat_page(request, None)


@login_required
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = get_object_or_404(Conversation, pk=conversation_id, owner=request.user)
    if _wants_json(request):
        # Its messages read again by a tab whose branch changed in another tab.
        return JsonResponse({"conversation": found.pk, "messages": answers.transcript(found)})
    return _chat_page(request, found)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    created = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:100] or "API token"
        _, created = api_tokens_module.create(request.user, name)
    tokens = APIToken.objects.filter(user=request.user, revoked_at__isnull=True)
    # The token's clear text is in this response only; it is stored as a hash.
    return render(request, "chat/api_tokens.html", {"tokens": tokens, "created": created})


@login_required
@require_POST
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(APIToken, pk=token_id, user=request.user)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return redirect("api_tokens")


def _own_conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return get_object_or_404(Conversation, pk=conversation_id, owner=request.user)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def rename_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _own_conversation(request, conversation_id)
    title = " ".join(request.POST.get("title", "").split())
    if not title:
        return JsonResponse({"error": "A title cannot be empty."}, status=400)
    conversation.title = title[: Conversation._meta.get_field("title").max_length]
    conversation.title_pending = False  # the user's name is never replaced by a generated one
    # Not updated_at: a rename is not activity, and must not move it to "Today".
    conversation.save(update_fields=["title", "title_pending"])
    tabs.tell_now(request.user.pk, [answers.conversation_renamed(conversation)])
    if _wants_json(request):
        return JsonResponse(_conversation_data(conversation))
    return redirect("conversation", conversation.pk)


@login_required
@require_POST
def delete_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _own_conversation(request, conversation_id)
    # An answer still being written would go on (and be billed) for a conversation that is gone.
    async_to_sync(answers.stop_answers)(list(conversation.messages.filter(status__in=Message.LIVE)))
    conversation.delete()
    attachments.forget_unreferenced()
    tabs.tell_now(request.user.pk, [answers.conversation_deleted(conversation_id)])
    if _wants_json(request):
        return JsonResponse({"deleted": conversation_id})
    return redirect("home")


SEARCH_LIMIT = 50
SNIPPET_CHARS = 120


def _snippet(text: str, query: str) -> str:
    """A line of context around the first match, on one line."""
    at = text.lower().find(query.lower())
    if at < 0:
        return ""
    start = max(0, at - SNIPPET_CHARS // 3)
    end = min(len(text), at + len(query) + SNIPPET_CHARS)
    snippet = " ".join(text[start:end].split())
    return ("…" if start else "") + snippet + ("…" if end < len(text) else "")


@login_required
@require_GET
def search_conversations(request: HttpRequest) -> HttpResponse:
    """The user's conversations whose title or messages contain ``q``, newest first."""
    query = " ".join(request.GET.get("q", "").split())[:200]
    if not query:
        return JsonResponse({"query": "", "results": []})
    in_messages = Message.objects.filter(
        conversation=OuterRef("pk"),
        role__in=(Message.Role.USER, Message.Role.ASSISTANT),
        text__icontains=query,
    )
    found = list(
        Conversation.objects.filter(owner=request.user)
        .filter(Q(title__icontains=query) | Exists(in_messages))
        .order_by("-updated_at")[:SEARCH_LIMIT]
    )
    # One matching message per conversation, for the line under its title.
    snippets: dict[int, str] = {}
    matches = (
        Message.objects.filter(
            conversation__in=found,
            role__in=(Message.Role.USER, Message.Role.ASSISTANT),
            text__icontains=query,
        )
        .order_by("conversation_id", "seq")
        .values_list("conversation_id", "text")
    )
    for conversation_id, text in matches:
        if conversation_id not in snippets:
            snippets[conversation_id] = _snippet(text, query)
    results = [{**_conversation_data(c), "snippet": snippets.get(c.pk, "")} for c in found]
    return JsonResponse({"query": query, "results": results})


_sign_in = auth_views.LoginView.as_view(authentication_form=ratelimit.ThrottledAuthenticationForm)


def sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in page, refusing password guesses past the limits of chat.web.ratelimit."""
    response = _sign_in(request)
    form = getattr(response, "context_data", {}).get("form")
    if form is not None and form.has_error("__all__", "throttled"):
        response.status_code = 429
    return response
