"""Constructor argument types, read from torch's annotations, and checks of JSON values.

An :class:`ArgType` is a set of accepted forms. Forms are small tuples:
``("int",)``, ``("float",)``, ``("bool",)``, ``("none",)``, ``("str", choices)``,
``("ints", n)`` (a list of n integers, n None for any length), ``("floats", n)`` and
``("optints", n)`` (integers or null, as in ``AdaptiveAvgPool2d((None, 7))``).
"""

from __future__ import annotations

import collections.abc
import math
import types
import typing
from dataclasses import dataclass

import torch

INT_LIMIT = 2**31 - 1

# Arguments whose every integer must be >= 1 (a size, a count, a kernel).
POSITIVE_INTS = frozenset(
    """in_features out_features in1_features in2_features in_channels out_channels
    num_features num_channels num_groups hidden_size input_size num_layers num_embeddings
    embedding_dim embed_dim num_heads d_model nhead dim_feedforward upscale_factor
    downscale_factor kernel_size stride dilation groups num_parameters size""".split()
)

# Counts that make the network itself big: bounded so a file cannot make the builder hang.
COUNT_LIMITS = {"num_layers": 1024}

# String arguments whose choices torch only checks at run time (or not at all).
KNOWN_CHOICES = {
    "reduction": ("none", "mean", "sum"),
    "nonlinearity": ("tanh", "relu"),
    "approximate": ("none", "tanh"),
    "activation": ("relu", "gelu"),
}
TYPE_CHOICES = {
    ("Upsample", "mode"): ("nearest", "linear", "bilinear", "bicubic", "trilinear"),
    ("EmbeddingBag", "mode"): ("sum", "mean", "max"),
    ("Parallel", "join"): ("cat", "sum"),
}
STRING_PADDING = ("same", "valid")

# torch.nn arguments with no annotation and a None default.
UNANNOTATED = {"kdim": int | None, "vdim": int | None, "embed_dim": int, "num_heads": int}


@dataclass(frozen=True)
class ArgType:
    forms: tuple[tuple, ...]

    def accepts_none(self) -> bool:
        return ("none",) in self.forms

    def describe(self) -> str:
        return " or ".join(_describe_form(f) for f in self.forms)


def _describe_form(form: tuple) -> str:
    kind = form[0]
    if kind == "str":
        return "one of " + ", ".join(repr(c) for c in form[1]) if form[1] else "a string"
    if kind in ("ints", "floats", "optints"):
        what = {"ints": "integers", "floats": "numbers", "optints": "integers or nulls"}[kind]
        return f"a list of {form[1]} {what}" if form[1] else f"a list of {what}"
    return {"int": "an integer", "float": "a number", "bool": "true or false", "none": "null"}[kind]


def arg_type_from_annotation(annotation, default, layer: str, name: str) -> ArgType | None:
    """The JSON forms an argument accepts, or None when it cannot be set from a file."""
    if annotation is _EMPTY:
        annotation = UNANNOTATED.get(name, _EMPTY)
    if annotation is _EMPTY:
        annotation = type(default) if default not in (_EMPTY, None) else _EMPTY
    if annotation is _EMPTY:
        return None
    forms = _forms(annotation)
    if default is None and ("none",) not in forms and forms:
        forms.append(("none",))
    forms = [_with_choices(f, layer, name) for f in forms]
    if not forms or all(f == ("none",) for f in forms):
        return None
    return ArgType(tuple(dict.fromkeys(forms)))


_EMPTY = object()


def _with_choices(form: tuple, layer: str, name: str) -> tuple:
    if form != ("str", ()):
        return form
    choices = TYPE_CHOICES.get((layer, name)) or KNOWN_CHOICES.get(name)
    if name == "padding":
        choices = STRING_PADDING
    return ("str", tuple(choices or ()))


def _forms(annotation) -> list[tuple]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return [("none",)]
    if annotation is bool:
        return [("bool",)]
    if annotation is int:
        return [("int",)]
    if annotation is float:
        return [("float",)]
    if annotation is str:
        return [("str", ())]
    if annotation is torch.Size:
        return [("ints", None)]
    if origin in (typing.Union, types.UnionType):
        return [form for arg in args for form in _forms(arg)]
    if origin is typing.Literal:
        return [("str", tuple(args))] if all(isinstance(a, str) for a in args) else []
    if origin in (tuple, list, collections.abc.Sequence):
        return _sequence_forms(origin, args)
    return []  # Tensor, Module, Callable, dtype, device: not settable from a file


def _sequence_forms(origin, args) -> list[tuple]:
    variable = origin is not tuple or (len(args) == 2 and args[1] is Ellipsis)
    items = args[:1] if variable else args
    length = None if variable else len(args)
    if not items:
        return []
    element = set(f for item in items for f in _forms(item))
    if element == {("int",)}:
        return [("ints", length)]
    if element == {("float",)}:
        return [("floats", length)]
    if element == {("int",), ("none",)}:
        return [("optints", length)]
    return []


def check_value(arg_type: ArgType, value, name: str) -> str | None:
    """Why ``value`` is not acceptable for the argument, or None when it is."""
    for form in arg_type.forms:
        if _matches(form, value):
            return _range_problem(value, name)
    return f"must be {arg_type.describe()}, got {_show(value)}"


def _matches(form: tuple, value) -> bool:
    kind = form[0]
    if kind == "none":
        return value is None
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return _is_int(value)
    if kind == "float":
        return _is_number(value)
    if kind == "str":
        return isinstance(value, str) and (not form[1] or value in form[1])
    if not isinstance(value, list) or (form[1] is not None and len(value) != form[1]):
        return False
    if kind == "ints":
        return all(_is_int(v) for v in value)
    if kind == "floats":
        return all(_is_number(v) for v in value)
    return all(v is None or _is_int(v) for v in value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range_problem(value, name: str) -> str | None:
    numbers = value if isinstance(value, list) else [value]
    for number in numbers:
        if isinstance(number, float) and not math.isfinite(number):
            return f"must be a finite number, got {_show(value)}"
        if _is_int(number) and abs(number) > INT_LIMIT:
            return f"must be at most {INT_LIMIT} in size, got {_show(value)}"
        if name in POSITIVE_INTS and _is_int(number) and number < 1:
            noun = "a positive integer" if not isinstance(value, list) else "positive integers"
            return f"must be {noun}, got {_show(value)}"
        if name in COUNT_LIMITS and _is_int(number) and number > COUNT_LIMITS[name]:
            return f"must be at most {COUNT_LIMITS[name]}, got {_show(value)}"
    return None


def _show(value) -> str:
    text = repr(value) if not isinstance(value, (bool, type(None))) else str(value).lower()
    if value is None:
        text = "null"
    return text if len(text) <= 60 else text[:57] + "..."


def canonical(arg_type: ArgType, value):
    """torch stores ``kernel_size=3`` of a Conv2d as (3, 3): both are written as 3."""
    if (
        isinstance(value, list)
        and value
        and ("int",) in arg_type.forms
        and any(f[0] == "ints" and f[1] == len(value) for f in arg_type.forms)
        and all(v == value[0] for v in value)
        and _is_int(value[0])
    ):
        return value[0]
    return value


def to_python(value):
    """A JSON value as the constructor wants it: lists become tuples."""
    return tuple(value) if isinstance(value, list) else value


def to_json(value):
    """A constructor value (as a module stores it) as JSON: tuples become lists."""
    if isinstance(value, (tuple, list, torch.Size)):
        return [to_json(v) for v in value]
    return value


EMPTY = _EMPTY
