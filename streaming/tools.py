"""Built-in tools a conversation can enable. Each has a ``ToolSpec`` to offer to the model and
runs to a string for the model to read; bad arguments give an ``error: ...`` string, never an
exception, so the model can correct itself."""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streaming.events import ToolSpec

CURRENT_TIME = ToolSpec(
    "current_time",
    "The current date and time, in ISO 8601. In UTC unless an IANA time zone is given.",
    {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "An IANA time zone such as Europe/Paris (default UTC)",
            }
        },
        "additionalProperties": False,
    },
)
CALCULATOR = ToolSpec(
    "calculator",
    "Evaluate an arithmetic expression exactly: numbers, + - * / // % **, and parentheses.",
    {
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "e.g. (2 + 3) * 4 ** 2"}},
        "required": ["expression"],
        "additionalProperties": False,
    },
)
TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in (CURRENT_TIME, CALCULATOR)}

MAX_EXPRESSION = 500  # characters; also keeps the parser's recursion shallow
MAX_BITS = 4096  # integers beyond ~1,200 digits are refused instead of computed
MAX_EXPONENT = 10_000
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


class CalculationError(ValueError):
    pass


def specs(names: list[str] | tuple[str, ...]) -> tuple[ToolSpec, ...]:
    """The specs of the named tools, skipping names that are not built in."""
    return tuple(TOOLS[name] for name in names if name in TOOLS)


def run(name: str, arguments: dict[str, Any] | str) -> str:
    """Run a built-in tool; ``arguments`` as the model sent them (a dict or a JSON string)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except ValueError:
            return "error: the arguments are not valid JSON"
    if not isinstance(arguments, dict):
        return "error: the arguments must be a JSON object"
    if name == "current_time":
        return current_time(arguments)
    if name == "calculator":
        expression = arguments.get("expression")
        if not isinstance(expression, str):
            return 'error: give the expression as a string, e.g. {"expression": "2 + 2"}'
        try:
            return calculate(expression)
        except CalculationError as exc:
            return f"error: {exc}"
    return f"error: there is no tool named {name!r}"


def current_time(arguments: dict[str, Any], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    zone = arguments.get("timezone") or "UTC"
    unknown = set(arguments) - {"timezone"}
    if unknown:
        return f"error: unexpected arguments {sorted(unknown)}"
    try:
        tz = ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return f"error: unknown time zone {zone!r}; use an IANA name such as Europe/Paris"
    return now.astimezone(tz).isoformat(timespec="seconds")


def calculate(expression: str) -> str:
    if len(expression) > MAX_EXPRESSION:
        raise CalculationError(f"the expression is longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, ValueError):
        raise CalculationError(f"cannot read {expression!r} as arithmetic") from None
    try:
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:
        raise CalculationError("the result is too large") from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalculationError("the result is too large")
        return format(value, ".15g")
    return str(value)


def _evaluate(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _bounded(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _bounded(_BINARY[type(node.op)](left, right))
    raise CalculationError("only numbers, + - * / // % **, and parentheses are allowed")


def _check_power(base: int | float, exponent: int | float) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculationError(f"exponents are limited to ±{MAX_EXPONENT}")
    # Refuse before computing: 9**9999 is cheap to ask for and costly to compute.
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_BITS:
            raise CalculationError("the result is too large")


def _bounded(value: Any) -> int | float:
    if isinstance(value, complex):
        raise CalculationError("the result is not a real number")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise CalculationError("the result is too large")
    return value
