"""Response headers Django's SecurityMiddleware does not set.

Django 5.2 has no Content-Security-Policy of its own. The policy (``CONTENT_SECURITY_POLICY``)
goes on every response, pages, API answers, static files and the admin alike: a response
without it would be the one an injected script is loaded into. The middleware sits above
WhiteNoise, which answers static files without going further down the stack.
"""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware


def _with_policy(response: HttpResponseBase) -> HttpResponseBase:
    if settings.CONTENT_SECURITY_POLICY:
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
    # Django's clickjacking middleware sits below WhiteNoise, so static files would go without.
    response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
    return response


@sync_and_async_middleware
def security_headers(get_response: Callable) -> Callable:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(get_response(request))

    return middleware
