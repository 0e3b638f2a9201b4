"""Response headers Django's SecurityMiddleware does not set.

Django 5.2 has no Content-Security-Policy of its own. The policy (``CONTENT_SECURITY_POLICY``)
goes on every response, pages, API answers, static files and the admin alike: a response
without it would be the one an injected script is loaded into. The middleware sits above
WhiteNoise, which answers static files without going further down the stack.

One static page gets a policy of its own: the sandboxed frame diagrams are drawn in
(``DIAGRAM_FRAME_PATH``, see ``DIAGRAM_FRAME_CONTENT_SECURITY_POLICY``), which the chat page
frames and which allows inline styles.
"""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware


def _with_policy(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if request.path == settings.DIAGRAM_FRAME_PATH:
        policy, frame_options = settings.DIAGRAM_FRAME_CONTENT_SECURITY_POLICY, "SAMEORIGIN"
    else:
        policy, frame_options = settings.CONTENT_SECURITY_POLICY, settings.X_FRAME_OPTIONS
    if policy:
        response.headers.setdefault("Content-Security-Policy", policy)
    # Django's clickjacking middleware sits below WhiteNoise, so static files would go without.
    response.headers.setdefault("X-Frame-Options", frame_options)
    return response


@sync_and_async_middleware
def security_headers(get_response: Callable) -> Callable:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(request, await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(request, get_response(request))

    return middleware
