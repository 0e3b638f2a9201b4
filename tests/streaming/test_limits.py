"""The output-token limit of an answer: the conversation's, else the model family's, capped."""

import pytest

from streaming.limits import default_output_tokens, output_tokens


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai:gpt-4o-mini", 16_384),
        ("openai:gpt-4.1", 32_768),
        ("openai:o3-mini", 100_000),
        ("openai:gpt-5", 128_000),
        ("anthropic:claude-3-5-haiku", 8192),
        ("anthropic:claude-sonnet-4-5", 64_000),
        ("anthropic:claude-opus-4-1", 32_000),
        ("gemini:gemini-2.5-flash", 65_536),
        ("gemini:gemini-2.0-flash", 8192),
        ("local:smollm2", 2048),  # a quarter of its 8,192-token context
        ("openai:some-unknown-model", 200_000),  # no family: the ceiling
    ],
)
def test_each_family_has_its_default(model, expected):
    assert default_output_tokens(model, 200_000) == expected


def test_the_ceiling_caps_every_default_and_every_choice():
    assert default_output_tokens("openai:gpt-5", 1024) == 1024
    assert default_output_tokens("local:smollm2", 100, {"local:smollm2": 100_000}) == 100
    assert output_tokens("openai:gpt-5", 5000, 1024) == 1024
    assert output_tokens("openai:gpt-5", 300, 1024) == 300
    assert output_tokens("openai:gpt-5", None, 4096) == 4096


def test_a_local_model_answers_within_its_own_context():
    assert default_output_tokens("local:smollm2", 100_000, {"local:smollm2": 4000}) == 1000


def test_without_a_ceiling_each_model_gets_its_own_limit():
    assert default_output_tokens("openai:gpt-5", None) == 128_000
    assert default_output_tokens("anthropic:claude-sonnet-4-5", None) == 64_000
    # No known family: a quarter of its context, as a local model.
    assert default_output_tokens("openai:some-unknown-model", None) == 2048
    assert default_output_tokens("openai:x", None, {"openai:x": 40_000}) == 10_000
    assert output_tokens("openai:gpt-5", 200_000, None) == 200_000


def test_an_operator_sets_a_models_own_limit():
    overrides = {"openai:my-model": 12_000, "llama3.1": 6000}
    assert default_output_tokens("openai:my-model", None, None, overrides) == 12_000
    assert default_output_tokens("vllm:llama3.1", None, None, overrides) == 6000
    assert default_output_tokens("openai:my-model", 4096, None, overrides) == 4096
    assert default_output_tokens("local:llama3.1", None, None, overrides) == 6000
