"""Checks of a project's top-level values (inputs, name, device, probes, freeze, the weights
file's name) and of its later sections, each error naming its key; what they return is what the
project keeps."""

from __future__ import annotations

import re
from typing import Any

from app.errors import NNStudioError, ProjectError
from app.network.inputs import InputSpec, check_dtype, check_shape
from app.setup.selectors import parse_selector

MAX_INPUTS = 16
MAX_PROBE_EVERY = 1_000_000
DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d{1,3})?|dp:\d{1,3}(,\d{1,3})*")


def check_inputs(value: Any) -> list[InputSpec]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"must be a non-empty list of inputs, got {_kind(value)}", "inputs")
    if len(value) > MAX_INPUTS:
        raise ProjectError(f"must hold at most {MAX_INPUTS} inputs, got {len(value)}", "inputs")
    specs = []
    for i, item in enumerate(value):
        where = f"inputs[{i}]"
        _keys(item, where, ("shape", "dtype"), required=("shape",))
        try:
            shape = check_shape(item["shape"], f"{where}.shape")
            dtype = check_dtype(_dtype_text(item.get("dtype", "float32"), f"{where}.dtype"), f"{where}.dtype")
        except NNStudioError as error:
            raise ProjectError(error.message, error.where) from None
        specs.append(InputSpec(shape, dtype))
    return specs


def _dtype_text(value: Any, where: str) -> str:
    # check_dtype looks the value up in a dict, which a list or an object cannot be
    if not isinstance(value, str):
        raise ProjectError(f'must be a dtype name such as "float32", got {_kind(value)}', where)
    return value


def check_probes(value: Any) -> dict:
    _keys(value, "probes", ("modules", "every"))
    modules = _strings(value.get("modules", []), "probes.modules")
    every = value.get("every", 10)
    if not _is_int(every) or not 1 <= every <= MAX_PROBE_EVERY:
        raise ProjectError(f"must be an integer from 1 to {MAX_PROBE_EVERY}, got {_show(every)}", "probes.every")
    return {"modules": modules, "every": every}


def check_device(value: Any) -> str:
    if not isinstance(value, str) or not DEVICE_PATTERN.fullmatch(value):
        raise ProjectError(f'must be "cpu", "cuda:N" or "dp:N,M,...", got {_show(value)}', "device")
    return value


def check_weights_name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProjectError(f"must be a file name or null, got {_kind(value)}", where)
    if (
        not value
        or value in (".", "..")
        or "/" in value
        or "\\" in value
        or "\0" in value
        or ":" in value
        or value != value.strip()
        or len(value) > 255
    ):
        raise ProjectError(
            f"must be the plain name of a file beside the project (no folders), got {_show(value)}", where
        )
    return value


def check_section(value: Any, parse, where: str) -> dict | None:
    """A later section, validated by its own parser and kept in its canonical JSON form."""
    return None if value is None else parse(value, where).to_json()


def check_freeze(value: Any) -> list:
    if not isinstance(value, list):
        raise ProjectError(f"must be a list of selectors, got {_kind(value)}", "freeze")
    return [parse_selector(item, f"freeze[{i}]").to_json() for i, item in enumerate(value)]


def check_text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ProjectError(f"must be a string, got {_kind(value)}", where)
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise ProjectError(f"must be a list of strings, got {_kind(value)}", where)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ProjectError(f"must be a string, got {_kind(item)}", f"{where}[{i}]")
    return list(value)


def _keys(value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    if not isinstance(value, dict):
        raise ProjectError(f"must be an object, got {_kind(value)}", where)
    for key in value:
        if key not in allowed:
            raise ProjectError(f"unknown key (expected {', '.join(allowed)})", f"{where}.{key}"[:120])
    for key in required:
        if key not in value:
            raise ProjectError("missing", f"{where}.{key}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
