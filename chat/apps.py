from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signing out, deactivating an account or changing its password closes its sockets.
        from chat.web import sockets

        sockets.connect_signals()
