"""What a WebSocket may hold, and when it must go: the limits on open sockets and on what
waits to be sent to each, and the end of a socket whose sign-in ended.

- **Open sockets** are counted in this process, per user and per client address (the one
  Daphne gives, the client's behind a proxy with ``--proxy-headers``), up to
  ``MAX_SOCKETS_PER_USER`` and ``MAX_SOCKETS_PER_ADDRESS``. Without a cap one user's thousand
  sockets took every file descriptor of the process, and nobody else could connect.
- **The backlog**: a socket whose client does not read keeps, in the server's memory, what it
  was sent. ``chat.web.server`` tells the consumer how many bytes wait; past
  ``MAX_SOCKET_BACKLOG_BYTES`` the socket is closed (its client reconnects and resumes).
- **Compression state** (``chat.web.compression``): a compressed socket holds its compressor
  only while answers stream to it; the consumer lets it go after any other frame
  (``MID_ANSWER`` in ``chat.web.socket``).
- **Sign-in ended**: each socket joins the group ``user.<id>``, through the channel layer, so
  that every process hears it. Signing out ends the sockets of that session; deactivating an
  account, changing its password or deleting it ends all of its sockets. A frame that starts
  an answer checks first that the socket's session is still a valid sign-in, which catches
  what no signal tells (a session deleted in the database, a queryset ``update``).

Close codes (docs/protocol.md): ``SIGNED_OUT``, ``TOO_MANY_SOCKETS``, ``TOO_FAR_BEHIND``.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Callable
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.signals import user_logged_out
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.utils.crypto import constant_time_compare

log = logging.getLogger(__name__)

# Close codes.
SIGNED_OUT = 4401
TOO_FAR_BEHIND = 4408
TOO_MANY_SOCKETS = 4429

SIGNED_OUT_DETAIL = "You were signed out. Sign in again to go on."

# The scope extensions chat.web.server adds (named there too; importing it would start Twisted).
BACKLOG = "streamchat.backlog"
COMPRESSION = "streamchat.compression"


def backlog_of(scope: dict[str, Any]) -> Callable[[], int] | None:
    """How many bytes wait to be sent on this socket, when the server can tell."""
    return scope.get("extensions", {}).get(BACKLOG, {}).get("bytes")


def release_of(scope: dict[str, Any]) -> Callable[[], None] | None:
    """What frees this socket's compressor until its next frame, when the server can
    (``chat.web.compression``)."""
    return scope.get("extensions", {}).get(COMPRESSION, {}).get("release")


# Open sockets -------------------------------------------------------------------------------


class OpenSockets:
    """The sockets open in this process, by user and by client address."""

    def __init__(self) -> None:
        # Weak sets: a socket that ends without saying so cannot hold a place for ever.
        self._by_user: dict[Any, weakref.WeakSet[Any]] = {}
        self._by_address: dict[str, weakref.WeakSet[Any]] = {}

    def admit(self, socket: Any, user_id: Any, address: str) -> str | None:
        """Count ``socket`` in; or, when its user or address is at the limit, say which."""
        users = self._by_user.get(user_id, ())
        addresses = self._by_address.get(address, ())
        if len(users) >= settings.MAX_SOCKETS_PER_USER:
            return "user"
        if len(addresses) >= settings.MAX_SOCKETS_PER_ADDRESS:
            return "address"
        self._by_user.setdefault(user_id, weakref.WeakSet()).add(socket)
        self._by_address.setdefault(address, weakref.WeakSet()).add(socket)
        return None

    def release(self, socket: Any, user_id: Any, address: str) -> None:
        for table, key in ((self._by_user, user_id), (self._by_address, address)):
            sockets = table.get(key)
            if sockets is not None:
                sockets.discard(socket)
                if not sockets:
                    del table[key]

    def count(self, user_id: Any = None, address: str | None = None) -> int:
        if address is not None:
            return len(self._by_address.get(address, ()))
        return len(self._by_user.get(user_id, ()))

    def reset(self) -> None:
        self._by_user.clear()
        self._by_address.clear()


open_sockets = OpenSockets()


# Sign-in ended ------------------------------------------------------------------------------

ENDED = "session.ended"  # the group message; ChatConsumer.session_ended handles it


def user_group(user_id: Any) -> str:
    return f"user.{user_id}"


def session_digest(session_key: str | None) -> str | None:
    # The key itself is a credential: the channel layer carries only its digest.
    if not session_key:
        return None
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def end_sessions(user_id: Any, session_key: str | None = None) -> None:
    """Close, on every process, the sockets of ``session_key`` (of all the user's sessions
    when None), once the current transaction commits."""
    message = {"type": ENDED, "session": session_digest(session_key)}

    def broadcast() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(user_group(user_id), message)
        except Exception as exc:
            # Signing out must work while Redis is away; a frame that starts an answer still
            # finds the session gone.
            log.warning("could not tell the sockets of user %s to close: %r", user_id, exc)

    transaction.on_commit(broadcast)


def still_signed_in(scope: dict[str, Any]) -> bool:
    """Whether the socket's session is still a valid sign-in of its user, read afresh: the
    session exists, names this user, the user is active, and the password hash it was signed
    in with is still the user's (or a ``SECRET_KEY_FALLBACKS`` one): the checks
    ``django.contrib.auth.get_user`` makes for a page, without changing the session as it may
    (a socket cannot hand the browser a new cookie)."""
    session_key = scope["session"].session_key
    if not session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        user_id = auth.get_user_model()._meta.pk.to_python(session[auth.SESSION_KEY])
        backend_path = session[auth.BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return False  # gone, expired, or never a sign-in
    if user_id != scope["user"].pk or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = auth.load_backend(backend_path).get_user(user_id)
    if user is None or not getattr(user, "is_active", True):
        return False
    if not hasattr(user, "get_session_auth_hash"):
        return True  # a user model without a password hash: nothing more to check
    signed_with = session.get(auth.HASH_SESSION_KEY)
    if not signed_with:
        return False
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(signed_with, h) for h in hashes)


def _sign_in_state(user: Any) -> tuple[Any, Any]:
    # From __dict__: reading a deferred field here would cost a query per user loaded.
    return user.__dict__.get("password"), user.__dict__.get("is_active", True)


def _remember(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._sign_in_state = _sign_in_state(instance)


def _saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_sign_in_state", None)
    now = instance._sign_in_state = _sign_in_state(instance)
    if created or before is None:
        return
    (password, active), (new_password, now_active) = before, now
    changed = new_password is not None and password is not None and new_password != password
    if changed or (active and not now_active):
        end_sessions(instance.pk)


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    end_sessions(instance.pk)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        end_sessions(user.pk, session_key)


def connect_signals() -> None:
    user_model = auth.get_user_model()
    post_init.connect(_remember, sender=user_model, dispatch_uid="sockets-remember")
    post_save.connect(_saved, sender=user_model, dispatch_uid="sockets-saved")
    post_delete.connect(_deleted, sender=user_model, dispatch_uid="sockets-deleted")
    user_logged_out.connect(_logged_out, dispatch_uid="sockets-logged-out")
