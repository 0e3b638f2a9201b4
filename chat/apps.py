from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signing out, deactivating an account or changing its password closes its sockets.
        from chat.attachments import store
        from chat.web import sockets

        sockets.connect_signals()
        # Deleting a file (or its owner) deletes its bytes once no other file shares them.
        store.connect_signals()
