"""The built-in tools: a safe calculator and the current time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streaming.tools import CALCULATOR, CURRENT_TIME, TOOLS, current_time, run, specs


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4 ** 2", "80"),
        ("-2 ** 2", "-4"),
        ("-(-3)", "3"),
        ("+5", "5"),
        ("7 // 2", "3"),
        ("-7 // 2", "-4"),
        ("7 % 3", "1"),
        ("1 / 4", "0.25"),
        ("0.1 + 0.2", "0.3"),
        ("2 ** -1", "0.5"),
        ("1.5e3 * 2", "3000"),
        ("2 ** 100", "1267650600228229401496703205376"),
        ("  ( ( 1 ) )  ", "1"),
        ("(" * 200 + "-" * 98 + "1" + ")" * 200, "1"),
    ],
)
def test_the_calculator_does_arithmetic(expression, result):
    assert run("calculator", {"expression": expression}) == result


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("9 ** 9999", "too large"),
        ("2 ** 100000", "exponents are limited"),
        ("2 ** 4000 * 2 ** 4000", "too large"),
        ("10.0 ** 400", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("__import__('os').system('true')", "only numbers"),
        ("abs(-1)", "only numbers"),
        ("x + 1", "only numbers"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("[1, 2]", "only numbers"),
        ("1 if 1 else 2", "only numbers"),
        ("1 < 2", "only numbers"),
        ("2 +", "cannot read"),
        ("1" + "+1" * 300, "longer than 500"),
    ],
)
def test_the_calculator_refuses_with_a_message_instead_of_raising(expression, complaint):
    result = run("calculator", {"expression": expression})
    assert result.startswith("error: ") and complaint in result


@pytest.mark.parametrize(
    "arguments", [{}, {"expression": 12}, "not json", "[1]", {"expression": None}]
)
def test_bad_calculator_arguments_are_an_error_string(arguments):
    assert run("calculator", arguments).startswith("error: ")


def test_arguments_may_come_as_a_json_string():
    assert run("calculator", '{"expression": "6 * 7"}') == "42"


def test_the_time_is_utc_iso_8601_by_default():
    moment = datetime(2026, 3, 29, 0, 30, 15, 999, tzinfo=UTC)
    assert current_time({}, now=moment) == "2026-03-29T00:30:15+00:00"
    parsed = datetime.fromisoformat(run("current_time", {}))
    assert parsed.utcoffset().total_seconds() == 0
    assert abs((parsed - datetime.now(UTC)).total_seconds()) < 60


def test_the_time_in_a_time_zone_follows_its_daylight_saving_rules():
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    after = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert current_time({"timezone": "Europe/Paris"}, now=before) == "2026-03-29T01:30:00+01:00"
    assert current_time({"timezone": "Europe/Paris"}, now=after) == "2026-03-29T03:30:00+02:00"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "../../etc/passwd", "/etc/passwd", 7])
def test_an_unknown_time_zone_is_an_error_string(zone):
    assert run("current_time", {"timezone": zone}).startswith("error: unknown time zone")


def test_unknown_tools_and_arguments_are_error_strings():
    assert run("rm_rf", {}) == "error: there is no tool named 'rm_rf'"
    assert run("current_time", {"zone": "UTC"}).startswith("error: unexpected arguments")


def test_each_tool_offers_a_json_schema():
    assert set(TOOLS) == {"current_time", "calculator"}
    assert specs(["calculator", "nope", "current_time"]) == (CALCULATOR, CURRENT_TIME)
    for spec in TOOLS.values():
        assert spec.parameters["type"] == "object" and spec.description
    assert CALCULATOR.parameters["required"] == ["expression"]
