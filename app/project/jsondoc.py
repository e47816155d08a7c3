"""Reading a JSON document from untrusted bytes, with every failure as one ProjectError.

Beyond ``json.loads``: the bytes must be UTF-8; ``NaN`` and ``Infinity`` (which Python's json
accepts) are refused, as are numbers too large to be finite (``1e999``); nesting is bounded
so that no later recursive walk can overflow the stack; strings must be encodable, so the
document can be written back.
"""

from __future__ import annotations

import json
import math
from typing import Any

from app.errors import ProjectError

MAX_BYTES = 64 * 1024 * 1024
MAX_NESTING = 200
MAX_INT_DIGITS = 100
TOP = "(top level)"  # the where of the document as a whole


class _Constant:
    """Stands in for NaN / Infinity while parsing, so the error can name its JSON path."""

    def __init__(self, text: str) -> None:
        self.text = text


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooLong(text)
    return int(text)


class _TooLong(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.digits = len(text.lstrip("-"))


def decode_json(data: bytes, where: str) -> Any:
    """The JSON value in ``data``; ``where`` names the file in errors about the file as a whole."""
    if len(data) > MAX_BYTES:
        raise ProjectError(f"is {len(data)} bytes; a project file is at most {MAX_BYTES}", where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProjectError(
            f"is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})", where
        ) from None
    try:
        value = json.loads(text, parse_constant=_Constant, parse_int=_parse_int)
    except json.JSONDecodeError as error:
        raise ProjectError(
            f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", where
        ) from None
    except RecursionError:
        raise ProjectError(f"is nested too deeply (at most {MAX_NESTING} levels)", where) from None
    except _TooLong as error:
        raise ProjectError(f"holds an integer with {error.digits} digits (at most {MAX_INT_DIGITS})", where) from None
    except ValueError as error:  # anything else the parser refuses
        raise ProjectError(f"is not valid JSON: {error}", where) from None
    check_plain(value)
    return value


def check_plain(value: Any) -> None:
    """Refuse non-finite numbers, unencodable strings and deep nesting, naming the path.

    Iterative, so a deeply nested value is refused rather than overflowing the stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ProjectError(f"is nested more than {MAX_NESTING} levels deep", path or TOP)
        if isinstance(item, _Constant):
            raise ProjectError(f"{item.text} is not a JSON number (numbers must be finite)", path or TOP)
        if isinstance(item, float) and not math.isfinite(item):
            raise ProjectError("is too large a number (numbers must be finite)", path or TOP)
        if isinstance(item, str):
            _check_text(item, path or TOP)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, path or TOP)
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, f"{path}[{index}]", depth + 1))


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProjectError("holds a lone surrogate (\\ud800-\\udfff) that is not text", path) from None


def encode_json(value: Any) -> bytes:
    """Indented by 2, keys in the order given, a list of plain values (a shape) on one line,
    a trailing newline; refuses what it could not read back."""
    check_plain(value)
    return (_dump(value, "") + "\n").encode("utf-8")


def _dump(value: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = (f"{inner}{_scalar(str(key))}: {_dump(item, inner)}" for key, item in value.items())
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        return "[\n" + ",\n".join(inner + _dump(item, inner) for item in value) + f"\n{indent}]"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)
