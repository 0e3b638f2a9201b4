"""What clients ask for: WebSocket frames and SSE API bodies, each checked here, so handlers
receive well-typed values and a malformed request gets a clear error instead of an exception."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from chat import answers
from chat.models import SETTING_NAMES, SettingsChange
from streaming.events import REASONING_EFFORTS
from streaming.limits import LONGEST
from streaming.tools import TOOLS


class BadFrame(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class BadSettings(BadFrame):
    """A conversation setting (or a preset's name) that cannot be taken; ``field`` names it."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__("bad_settings", detail)
        self.field = field


def _number(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise BadSettings(name, f"'{name}' must be a number or null")
    return float(value)


def _temperature(value: object) -> float | None:
    number = _number("temperature", value)
    if number is not None and not 0 <= number <= 2:
        raise BadSettings("temperature", "'temperature' must be between 0 and 2")
    return number


def _top_p(value: object) -> float | None:
    number = _number("top_p", value)
    if number is not None and not 0 < number <= 1:
        raise BadSettings("top_p", "'top_p' must be above 0 and at most 1")
    return number


def _max_output_tokens(value: object) -> int | None:
    ceiling = settings.MAX_OUTPUT_TOKENS or LONGEST
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
        raise BadSettings(
            "max_output_tokens",
            f"'max_output_tokens' must be a whole number from 1 to {ceiling}, or null",
        )
    return value


def _model(value: object) -> str:
    if not isinstance(value, str) or value not in answers.models():
        raise BadSettings("model", "'model' must be one of the models offered here")
    return value


def _reasoning_effort(value: object) -> str:
    if value not in REASONING_EFFORTS:
        raise BadSettings(
            "reasoning_effort", f"'reasoning_effort' must be one of {', '.join(REASONING_EFFORTS)}"
        )
    return str(value)


def _tools(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(n, str) and n in TOOLS for n in value):
        raise BadSettings("tools", f"'tools' must list names from {', '.join(sorted(TOOLS))}")
    return list(dict.fromkeys(value))


def _system_prompt(value: object) -> str:
    limit = settings.MAX_MESSAGE_CHARS
    if not isinstance(value, str) or len(value) > limit:
        raise BadSettings(
            "system_prompt", f"'system_prompt' must be a string of at most {limit} characters"
        )
    return value


PARSERS = {
    "system_prompt": _system_prompt,
    "model": _model,
    "temperature": _temperature,
    "top_p": _top_p,
    "max_output_tokens": _max_output_tokens,
    "reasoning_effort": _reasoning_effort,
    "tools": _tools,
}
assert tuple(PARSERS) == SETTING_NAMES


def conversation_settings(data: object) -> SettingsChange:
    """A settings object (any subset of ``SETTING_NAMES``) as the change it makes; the one
    check of conversation settings, for the settings API and the ``send`` frame alike. Raises
    ``BadSettings`` naming the first field that cannot be taken (an unknown name included)."""
    if not isinstance(data, dict):
        raise BadSettings("settings", "'settings' must be a JSON object")
    for name in data:
        if name not in PARSERS:
            raise BadSettings(
                str(name), f"'{name}' is not a setting; the settings are {', '.join(PARSERS)}"
            )
    return SettingsChange({name: PARSERS[name](value) for name, value in data.items()})


PRESET_NAME_CHARS = 100


def preset(data: dict[str, Any]) -> tuple[str, SettingsChange]:
    """A preset's body, ``{"name": str, "settings": {...}}``: its name, stripped (1 to 100
    characters), and its settings, checked by ``conversation_settings`` (at least one)."""
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= PRESET_NAME_CHARS:
        raise BadSettings("name", f"'name' must be a name of 1 to {PRESET_NAME_CHARS} characters")
    change = conversation_settings(data.get("settings"))
    if not change.values:
        raise BadSettings("settings", "'settings' must hold at least one setting")
    return name.strip(), change


@dataclass(frozen=True)
class ClientFrame:
    type: str
    data: dict[str, Any]

    def id(self, name: str, *, optional: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BadFrame("bad_frame", f"{self.type}: '{name}' must be a positive integer id")
        return value

    def offset(self, name: str = "offset") -> int:
        value = self.data.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadFrame("bad_frame", f"{self.type}: '{name}' must be a whole number >= 0")
        return value

    def text(self, name: str, *, optional: bool = False) -> str:
        value = self.data.get(name)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise BadFrame("bad_frame", f"{self.type}: '{name}' must be a non-empty string")
        return value

    def content(self) -> str:
        content = self.text("content")
        if len(content) > settings.MAX_MESSAGE_CHARS:
            raise BadFrame(
                "too_long", f"A message may hold at most {settings.MAX_MESSAGE_CHARS} characters"
            )
        return content

    def models(self) -> list[str]:
        """``model``, or ``models`` for compare mode (several answers side by side)."""
        if "models" in self.data:
            models = self.data["models"]
            if (
                not isinstance(models, list)
                or not 1 <= len(models) <= 4
                or not all(isinstance(m, str) and m for m in models)
            ):
                raise BadFrame("bad_frame", "send: 'models' must list 1 to 4 model names")
            return list(dict.fromkeys(models))
        return [self.text("model")]

    def attachments(self) -> list[int] | None:
        """``attachments``: the ids of the user's files sent with the message (None: not
        given; an edit then keeps the edited message's)."""
        if "attachments" not in self.data:
            return None
        ids = self.data["attachments"]
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids
        ):
            raise BadFrame("bad_frame", f"{self.type}: 'attachments' must list attachment ids")
        ids = list(dict.fromkeys(ids))
        if len(ids) > settings.MAX_ATTACHMENTS_PER_MESSAGE:
            raise BadFrame(
                "too_many_files",
                f"A message may carry at most {settings.MAX_ATTACHMENTS_PER_MESSAGE} files",
            )
        return ids

    def tools(self) -> list[str] | None:
        """``tools``: the built-in tools to enable for the conversation (None: leave as is)."""
        if "tools" not in self.data:
            return None
        names = self.data["tools"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n in TOOLS for n in names):
            raise BadFrame("bad_frame", f"send: 'tools' must list names from {sorted(TOOLS)}")
        return list(dict.fromkeys(names))

    def reasoning_effort(self) -> str | None:
        """``reasoning_effort``: how hard models that reason think (None: leave as is)."""
        if "reasoning_effort" not in self.data:
            return None
        effort = self.data["reasoning_effort"]
        if effort not in REASONING_EFFORTS:
            raise BadFrame(
                "bad_frame",
                f"send: 'reasoning_effort' must be one of {', '.join(REASONING_EFFORTS)}",
            )
        return effort

    def settings_change(self) -> SettingsChange:
        """What a ``send`` changes of its conversation's settings: ``settings`` (a settings
        object, for a new conversation only), then the ``model`` (one, not compare mode's),
        ``tools`` and ``reasoning_effort``."""
        change = SettingsChange()
        if self.data.get("settings") is not None:
            if self.data.get("conversation") is not None:
                raise BadFrame(
                    "bad_frame",
                    f"{self.type}: 'settings' only starts a new conversation; change an "
                    "existing one's with PUT /api/conversations/<id>/settings",
                )
            change = conversation_settings(self.data["settings"])
        values: dict[str, object] = {}
        if "models" not in self.data and isinstance(self.data.get("model"), str):
            # The model picked goes on with the conversation (shown again after a reload); a
            # model not offered is refused before anything is stored.
            values["model"] = self.data["model"]
        if (tools := self.tools()) is not None:
            values["tools"] = tools
        if (effort := self.reasoning_effort()) is not None:
            values["reasoning_effort"] = effort
        return change.merged(SettingsChange(values))


TYPES = ("send", "edit", "stop", "resume", "regenerate", "continue", "select_version", "keep")


def json_object(raw: str | bytes, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object of at most ``MAX_FRAME_BYTES``, every string in it encodable
    (no lone surrogates); ``what`` names it in the errors ("a frame", "the body")."""
    size = len(raw.encode(errors="surrogatepass") if isinstance(raw, str) else raw)
    if size > settings.MAX_FRAME_BYTES:
        raise BadFrame("too_long", f"{what} may be at most {settings.MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise BadFrame("bad_frame", f"{what} must be JSON") from None
    if not isinstance(data, dict):
        raise BadFrame("bad_frame", f"{what} must be a JSON object")
    if not _storable(data):
        raise BadFrame(
            "bad_frame", f"{what} holds text that cannot be stored (a lone surrogate or a NUL)"
        )
    return data


def _storable(data: object) -> bool:
    """No string anywhere in ``data`` (keys included) holds a lone surrogate or a NUL, which
    JSON allows but nothing can encode (the first) or PostgreSQL store (the second).
    Iterative: ``data`` may be nested deep."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode()
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def parse(raw: str | bytes | None) -> ClientFrame:
    if raw is None:
        raise BadFrame("bad_frame", "frames must be JSON text")
    data = json_object(raw, "a frame")
    kind = data.get("type")
    if kind not in TYPES:
        raise BadFrame("unknown_type", f"unknown frame type {kind!r}; expected one of {TYPES}")
    return ClientFrame(kind, data)
