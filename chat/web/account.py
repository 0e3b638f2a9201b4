"""The account page: the user's password, theme and default model, and their conversations
exported as JSON and imported back."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from chat import answers
from chat.models import Preferences


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
    password_form = PasswordForm(request.user)
    preferences_form = PreferencesForm(instance=preferences)
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
    return render(
        request,
        "chat/account.html",
        {"password_form": password_form, "preferences_form": preferences_form},
        status=status,
    )
