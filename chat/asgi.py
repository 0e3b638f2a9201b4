import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat.settings")
# Django must be set up before the consumers (and the models they import) are.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat import answers  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402

# The configured providers, built now, before the server listens: building them imports their
# SDKs, seconds of work that froze every socket of the process when the first model use did it
# on the event loop.
answers.models()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
