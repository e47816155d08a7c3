"""Bringing a project document written by an older nnstudio up to the current version.

Each step takes a document of version N and returns one of version N + 1; ``migrate`` chains
them. Adding version 4 is one function ``_v3_to_v4`` and one entry in ``STEPS``. Steps work
on the parsed JSON (before validation) and check only what they move: the full validation of
the result happens afterwards, on the current format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.errors import NNStudioError, ProjectError
from app.network.inputs import check_dtype, check_shape

FORMAT = "nnstudio-project"
VERSION = 3
FIRST_VERSION = 1


def _v1_to_v2(data: dict) -> dict:
    """Version 1 had one input, as top-level ``input_shape`` / ``input_dtype``; no mode or probes."""
    data = dict(data)
    if "inputs" in data:
        raise ProjectError("is not part of a version 1 file (it has 'input_shape' instead)", "inputs")
    if "input_shape" not in data:
        raise ProjectError("missing (a version 1 file names its input shape here)", "input_shape")
    try:
        shape = check_shape(data.pop("input_shape"), "input_shape")
        dtype = data.pop("input_dtype", "float32")
        if not isinstance(dtype, str):  # check_dtype looks it up in a dict
            raise ProjectError(f'must be a dtype name such as "float32", got {_kind(dtype)}', "input_dtype")
        dtype = check_dtype(dtype, "input_dtype")
    except NNStudioError as error:
        raise ProjectError(error.message, error.where) from None
    migrated = {key: value for key, value in data.items() if key != "network"}
    migrated["version"] = 2
    migrated["inputs"] = [{"shape": shape, "dtype": dtype}]
    migrated.setdefault("mode", {"training": True, "overrides": {}})
    migrated.setdefault("probes", {"modules": [], "every": 10})
    if "network" in data:
        migrated["network"] = data["network"]
    return migrated


def _v2_to_v3(data: dict) -> dict:
    """Version 3 added Python networks (``{"python": ...}``); a version 2 document is one already."""
    network = data.get("network")
    if isinstance(network, dict) and "python" in network:
        raise ProjectError("a Python network needs a version 3 file (version 2 had only specs)", "network.python")
    return dict(data)


STEPS: dict[int, Callable[[dict], dict]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
}


def check_header(data: Any) -> int:
    """The version of a document that claims to be an nnstudio project, or a ProjectError."""
    if not isinstance(data, dict):
        raise ProjectError(f"must be a JSON object (an nnstudio project), got {_kind(data)}", "(top level)")
    if "format" not in data:
        raise ProjectError(f'missing: this is not an nnstudio project (expected "{FORMAT}")', "format")
    if data["format"] != FORMAT:
        shown = repr(data["format"]) if isinstance(data["format"], str) else _kind(data["format"])
        raise ProjectError(f'must be "{FORMAT}", got {shown[:60]}', "format")
    if "version" not in data:
        raise ProjectError("missing (the version of the file format)", "version")
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProjectError(f"must be an integer, got {_kind(version)}", "version")
    if version > VERSION:
        raise ProjectError(
            f"was written by a newer nnstudio (version {_short(version)}; this one reads up to {VERSION})",
            "version",
        )
    if version < FIRST_VERSION:
        raise ProjectError(f"must be between {FIRST_VERSION} and {VERSION}, got {_short(version)}", "version")
    return version


def migrate(data: Any) -> dict:
    """The document as the current version; the input is not modified."""
    version = check_header(data)
    while version < VERSION:
        data = STEPS[version](data)
        version += 1
        data["version"] = version
    return data


def _short(number: int) -> str:
    text = str(number)
    return text if len(text) <= 20 else text[:17] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
