"""The account page: the user's password, theme and default model, and their conversations
exported as JSON and imported back."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import answers
from chat.models import Conversation, Preferences
from chat.review import export, importing


class PasswordForm(PasswordChangeForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # The page opens on the preferences above it, not in the password box.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class PreferencesForm(forms.ModelForm):
    default_model = forms.ChoiceField(
        label="Default model", required=False, help_text="What a new chat starts with."
    )

    class Meta:
        model = Preferences
        fields = ["theme", "default_model"]
        widgets = {"theme": forms.RadioSelect}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", f"The site's default ({answers.default_model()})")]
        choices += [(name, name) for name in answers.models()]
        self.fields["default_model"].choices = choices


def theme(request: HttpRequest) -> dict[str, str]:
    """The forced theme of the signed-in user for base.html: "light", "dark" or "" (the
    system's)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"theme": ""}
    chosen = Preferences.of(user).theme
    return {"theme": "" if chosen == Preferences.Theme.SYSTEM else chosen}


def default_model_for(user: object) -> str | None:
    """The user's saved default model when it is still offered, else None."""
    chosen = Preferences.of(user).default_model
    return chosen if chosen and chosen in answers.models() else None


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    preferences = Preferences.of(request.user)
    password_form = preferences_form = None
    status = 200
    if request.method == "POST" and request.POST.get("form") == "password":
        password_form = PasswordForm(request.user, request.POST)
        if password_form.is_valid():
            user = password_form.save()
            # This session stays signed in; the user's other sockets and sessions do not.
            update_session_auth_hash(request, user)
            messages.success(request, "Your password was changed.")
            return redirect("account")
        status = 400
    elif request.method == "POST" and request.POST.get("form") == "preferences":
        preferences_form = PreferencesForm(request.POST, instance=preferences)
        if preferences_form.is_valid():
            preferences_form.save()
            messages.success(request, "Your preferences were saved.")
            return redirect("account")
        status = 400
    return _account_page(request, password_form, preferences_form, status=status)


def _account_page(
    request: HttpRequest,
    password_form: PasswordChangeForm | None = None,
    preferences_form: PreferencesForm | None = None,
    *,
    import_error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "chat/account.html",
        {
            "password_form": password_form or PasswordForm(request.user),
            "preferences_form": preferences_form
            or PreferencesForm(instance=Preferences.of(request.user)),
            "import_error": import_error,
            "import_limit_mb": importing.MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )


@login_required
@require_GET
def export_conversations(request: HttpRequest) -> StreamingHttpResponse:
    """Every conversation of the user, every branch, as the JSON the import reads back."""
    mine = Conversation.objects.filter(owner=request.user).order_by("created_at", "pk")
    response = StreamingHttpResponse(
        export.export(mine, operator=False), content_type="application/json"
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="conversations-{day}.json"'
    return response


@login_required
@require_POST
def import_conversations(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _account_page(request, import_error="Choose a file to import.", status=400)
    if upload.size > importing.MAX_BYTES:
        limit = importing.MAX_BYTES // (1024 * 1024)
        error = f"The file is larger than {limit} MB."
        return _account_page(request, import_error=error, status=400)
    try:
        stored = importing.import_conversations(request.user, upload.read())
    except importing.BadImport as error:
        return _account_page(request, import_error=f"Nothing was imported. {error}", status=400)
    count = len(stored)
    messages.success(request, f"Imported {count} conversation{'' if count == 1 else 's'}.")
    return redirect("account")
