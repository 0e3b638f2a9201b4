from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from chat import api_tokens as api_tokens_module
from chat import catalog, ratelimit
from chat.generation import mark_stale_interrupted
from chat.models import APIToken, Conversation, Message


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


def _chat_page(request: HttpRequest, conversation: Conversation | None) -> HttpResponse:
    messages = []
    if conversation is not None:
        if conversation.transcript().filter(status__in=Message.LIVE).exists():
            mark_stale_interrupted()  # show an answer whose process died as interrupted
        messages = [
            {
                "id": m.pk,
                "role": m.role,
                "text": m.text,
                "status": m.status,
                "model": m.model,
                "reply_to": m.reply_to_id,
                "ttft_ms": m.ttft_ms,
                "tokens_per_second": m.tokens_per_second,
                "output_tokens": m.output_tokens,
                "error": m.error,
            }
            for m in conversation.transcript()
        ]
    return render(
        request,
        "chat/chat.html",
        {
            "conversation": conversation,
            "conversations": Conversation.objects.filter(owner=request.user)[:100],
            "models": catalog.models(),
            "selected_model": conversation.model if conversation else catalog.default_model(),
            "page_data": {
                "conversation": conversation.pk if conversation else None,
                "messages": messages,
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


_sign_in = auth_views.LoginView.as_view(authentication_form=ratelimit.ThrottledAuthenticationForm)


def sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in page, refusing password guesses past the limits of chat.ratelimit."""
    response = _sign_in(request)
    form = getattr(response, "context_data", {}).get("form")
    if form is not None and form.has_error("__all__", "throttled"):
        response.status_code = 429
    return response
