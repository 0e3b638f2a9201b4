"""Users' files: what an upload is (``content``), and keeping and forgetting it (``store``)."""

from chat.attachments.content import FileRefused
from chat.attachments.store import forget_unreferenced, keep, stored_bytes

__all__ = ["FileRefused", "forget_unreferenced", "keep", "stored_bytes"]
