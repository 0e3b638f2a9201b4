"""What each model takes besides text, how an operator says otherwise (``MODEL_CAPABILITIES``),
and what files are estimated to take of a context."""

from __future__ import annotations

import pytest

from streaming.providers.anthropic import AnthropicProvider
from streaming.providers.base import ProviderConfig, parse_capabilities
from streaming.providers.gemini import GeminiProvider
from streaming.providers.local import LocalProvider
from streaming.providers.openai import OpenAIProvider

OFFICIAL = ProviderConfig(api_key="sk")
COMPATIBLE = ProviderConfig(base_url="http://127.0.0.1:1/v1")


def test_it_parses_capabilities_per_model():
    assert parse_capabilities(" openai:my-model=vision+pdf, local:smollm2=text,llava=vision ") == {
        "openai:my-model": frozenset({"vision", "pdf"}),
        "local:smollm2": frozenset(),
        "llava": frozenset({"vision"}),
    }
    assert parse_capabilities("") == {}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("openai:my-model", "'openai:my-model' is not model=capabilities"),
        ("=vision", "'=vision' is not model=capabilities"),
        ("openai:my-model=sight", "'openai:my-model=sight': 'sight' is not one of vision, pdf"),
        ("openai:my-model=", "'' is not one of vision, pdf, text"),
        ("openai:my-model=text+pdf", "text means neither vision nor pdf"),
    ],
)
def test_a_bad_entry_is_refused_by_name(value, says):
    with pytest.raises(ValueError, match=says.replace("+", r"\+")):
        parse_capabilities(value)


async def test_openai_itself_sees_with_its_vision_models_only():
    official = OpenAIProvider(OFFICIAL)
    for model in ("gpt-4o", "gpt-4o-mini", "gpt-4.1-nano", "gpt-5", "o3", "o4-mini", "o1"):
        assert official.capabilities(model) == {"vision"}, model
    for model in ("gpt-3.5-turbo", "o3-mini", "o1-mini", "text-embedding-3-small"):
        assert official.capabilities(model) == frozenset(), model
    await official.aclose()


async def test_a_compatible_server_takes_nothing_unless_its_operator_says():
    compatible = OpenAIProvider(COMPATIBLE)
    assert compatible.capabilities("gpt-4o") == frozenset()
    await compatible.aclose()


async def test_claude_and_gemini_see_and_read_pdfs_and_the_local_model_neither():
    claude = AnthropicProvider(ProviderConfig(api_key="k"))
    gemini = GeminiProvider(ProviderConfig(api_key="k"))
    assert claude.capabilities("claude-sonnet-4-5") == {"vision", "pdf"}
    assert gemini.capabilities("gemini-2.5-flash") == {"vision", "pdf"}
    assert LocalProvider(ProviderConfig()).capabilities("smollm2") == frozenset()
    await claude.aclose()
    await gemini.aclose()


async def test_openai_counts_tiles_of_the_image_fitted_and_scaled():
    openai = OpenAIProvider(OFFICIAL)
    assert openai.image_tokens(100, 100) == 85 + 170  # one tile
    assert openai.image_tokens(1024, 1024) == 85 + 170 * 4  # scaled to 768 x 768
    assert openai.image_tokens(2048, 4096) == 85 + 170 * 6  # fitted to 1024 x 2048, then 768 x 1536
    await openai.aclose()


async def test_claude_counts_pixels_after_its_size_cap():
    claude = AnthropicProvider(ProviderConfig(api_key="k"))
    assert claude.image_tokens(200, 200) == 54  # 40 000 / 750, rounded up
    assert claude.image_tokens(3136, 1568) == claude.image_tokens(1568, 784) == 1640
    assert claude.document_tokens(pages=3, text_tokens=500) == 500 + 3 * 1600
    await claude.aclose()


async def test_gemini_counts_small_images_once_and_larger_ones_by_tile():
    gemini = GeminiProvider(ProviderConfig(api_key="k"))
    assert gemini.image_tokens(384, 300) == 258
    assert gemini.image_tokens(385, 300) == 258
    assert gemini.image_tokens(1600, 800) == 258 * 3 * 2
    assert gemini.document_tokens(pages=4, text_tokens=9999) == 4 * 258
    await gemini.aclose()
