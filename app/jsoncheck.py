"""The check every section parser starts with: an object, with only the keys it knows."""

from __future__ import annotations

from app.errors import NNStudioError


def object_with(data: object, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
    """``data`` as a dict, or an error naming ``where`` (not an object, an unknown or missing key)."""
    if not isinstance(data, dict):
        needed = ", ".join(f"'{key}'" for key in (required or allowed))
        raise NNStudioError(f"must be an object with {needed}", where)
    unknown = [key for key in data if key not in allowed]
    if unknown:
        raise NNStudioError(f"unknown key {unknown[0]!r} (expected {', '.join(allowed)})", where)
    missing = [key for key in required if key not in data]
    if missing:
        raise NNStudioError(f"missing key {missing[0]!r}", where)
    return data


def one_of(value: object, options, where: str, note: str = "") -> str:
    """``value`` when it is one of the option names (a list or a number is refused, not hashed)."""
    if not isinstance(value, str) or value not in options:
        raise NNStudioError(f"must be one of {', '.join(options)}{note}, got {value!r}", where)
    return value
