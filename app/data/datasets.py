"""Datasets that need no download, their arguments, and the check of a dataset's JSON.

A project names its data as ``{"name": "spirals", "size": 1000, "noise": 0.2, "seed": 0}``.
The generators themselves are :mod:`app.data.synthetic` (torch only, and copied as they are into
exported scripts); the same arguments give bit-identical samples in any process (the training
worker, a DDP rank, a test, an exported script). The user-file kinds (``csv``, ``npz``) are read
by :mod:`app.data.user_files`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.data import synthetic
from app.data.synthetic import MARKER_TOKEN, SHAPE_MASKS
from app.errors import NNStudioError

SHAPE_NAMES = list(SHAPE_MASKS)
SHAPE_FORMATS = {"shapes28": (28, 1), "shapes32": (32, 3)}  # side, channels

SEED_LIMIT = 2**63 - 1
MAX_SIZE = 1_000_000
# A bound on size * numbers-per-sample, so a typo in a project cannot ask for tens of gigabytes.
MAX_NUMBERS = 200_000_000
MAX_CLASSES = 100_000


@dataclass(frozen=True)
class Arg:
    """One argument of a dataset: its kind ("int", "float", "text", "choice", "columns"),
    default, inclusive range and choices; what a GUI form needs to draw a field."""

    kind: str
    default: object
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    help: str = ""


@dataclass
class Samples:
    """All samples of a dataset before the validation split."""

    x: torch.Tensor
    y: torch.Tensor
    task: str
    num_classes: int | None
    description: str
    class_names: tuple[str, ...] | None = None


def _size(default: int = 1000, high: int = MAX_SIZE) -> Arg:
    return Arg("int", default, 1, high, help="number of samples before the validation split")


def _noise(default: float, high: float = 10.0, help: str = "") -> Arg:
    return Arg("float", default, 0.0, high, help=help)


SEED = Arg("int", 0, 0, SEED_LIMIT, help="seeds the samples and the validation split")
TASK = Arg("choice", "classification", choices=("classification", "regression"))

ARGUMENTS: dict[str, dict[str, Arg]] = {
    "spirals": {
        "size": _size(),
        "classes": Arg("int", 3, 2, 6),
        "noise": _noise(0.2, help="standard deviation of the angle jitter, in radians"),
        "seed": SEED,
    },
    "blobs": {
        "size": _size(),
        "classes": Arg("int", 3, 2, 10),
        "spread": Arg("float", 0.5, 0.01, 10.0, help="standard deviation of each blob"),
        "noise": _noise(0.1, help="extra Gaussian jitter on every point"),
        "seed": SEED,
    },
    "moons": {"size": _size(), "noise": _noise(0.1, help="Gaussian jitter on every point"), "seed": SEED},
    "xor": {"size": _size(), "noise": _noise(0.1, help="Gaussian jitter on every point"), "seed": SEED},
    "sine": {"size": _size(), "noise": _noise(0.1, help="Gaussian noise on the target"), "seed": SEED},
    "shapes28": {
        "size": _size(),
        "classes": Arg("int", 10, 2, len(SHAPE_NAMES)),
        "noise": _noise(0.1, help="Gaussian noise on every pixel"),
        "seed": SEED,
    },
    "shapes32": {
        "size": _size(),
        "classes": Arg("int", 10, 2, len(SHAPE_NAMES)),
        "noise": _noise(0.1, help="Gaussian noise on every pixel"),
        "seed": SEED,
    },
    "tokens": {
        "size": _size(),
        "length": Arg("int", 20, 2, 4096),
        "vocab": Arg("int", 1000, 3, 1_000_000),
        "noise": _noise(0.0, 0.5, help="fraction of labels flipped at random"),
        "seed": SEED,
    },
    "csv": {
        "path": Arg("text", "", required=True),
        "target": Arg("text", "", required=True),
        "features": Arg("columns", None, help="null: every column but the target"),
        "task": TASK,
        "seed": SEED,
    },
    "npz": {
        "path": Arg("text", "", required=True),
        "x": Arg("text", "x"),
        "y": Arg("text", "y"),
        "task": TASK,
        "x_dtype": Arg("choice", "float32", choices=("float32", "int64")),
        "seed": SEED,
    },
}
USER_FILES = ("csv", "npz")


def dataset_names() -> list[str]:
    return list(ARGUMENTS)


def dataset_arguments(name: str) -> dict[str, object]:
    """The arguments of a dataset and their defaults ("" marks a required text)."""
    if name not in ARGUMENTS:
        raise NNStudioError(f"unknown dataset {name!r} (known: {', '.join(ARGUMENTS)})", "name")
    return {key: arg.default for key, arg in ARGUMENTS[name].items()}


def parse_dataset(data: object, where: str = "training.dataset") -> dict:
    """The canonical dataset dict (name first, then every argument, defaults filled in)."""
    if not isinstance(data, dict) or "name" not in data:
        raise NNStudioError("must be an object with a 'name' and the dataset's arguments", where)
    name = data["name"]
    if not isinstance(name, str) or name not in ARGUMENTS:
        raise NNStudioError(f"unknown dataset {name!r} (known: {', '.join(ARGUMENTS)})", f"{where}.name")
    specs = ARGUMENTS[name]
    for key in data:
        if key != "name" and key not in specs:
            raise NNStudioError(
                f"{name} takes no argument {key!r} (its arguments: {', '.join(specs)})", f"{where}.{key}"
            )
    result: dict = {"name": name}
    for key, arg in specs.items():
        if key not in data:
            if arg.required:
                raise NNStudioError(f"{name} needs {key!r}", f"{where}.{key}")
            result[key] = arg.default
        else:
            result[key] = _check(arg, data[key], f"{where}.{key}")
    if name not in USER_FILES:
        numbers = result["size"] * _numbers_per_sample(result)
        if numbers > MAX_NUMBERS:
            most = MAX_NUMBERS // _numbers_per_sample(result)
            raise NNStudioError(
                f"{result['size']} samples of {name} would hold {numbers:,} numbers; at most {most} samples",
                f"{where}.size",
            )
    return result


def _check(arg: Arg, value: object, where: str) -> object:
    if arg.kind == "int":
        assert arg.low is not None and arg.high is not None  # every int Arg has its range
        if not isinstance(value, int) or isinstance(value, bool) or not arg.low <= value <= arg.high:
            raise NNStudioError(f"must be an integer from {arg.low} to {arg.high}, got {value!r}", where)
        return value
    if arg.kind == "float":
        assert arg.low is not None and arg.high is not None  # every float Arg has its range
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not arg.low <= value <= arg.high
        ):
            raise NNStudioError(f"must be a number from {arg.low} to {arg.high}, got {value!r}", where)
        return float(value)
    if arg.kind == "choice":
        if value not in arg.choices:
            raise NNStudioError(f"must be one of {', '.join(arg.choices)}, got {value!r}", where)
        return value
    if arg.kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise NNStudioError(f"must be a non-empty string, got {value!r}", where)
        return value
    # "columns": null, or a non-empty list of distinct column names
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise NNStudioError(f"must be null or a non-empty list of column names, got {value!r}", where)
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise NNStudioError(f"names {repeated[0]!r} more than once", where)
    return list(value)


def _numbers_per_sample(args: dict) -> int:
    if args["name"] in SHAPE_FORMATS:
        side, channels = SHAPE_FORMATS[args["name"]]
        return channels * side * side
    return args["length"] if args["name"] == "tokens" else 2


def generate(args: dict) -> Samples:
    """The samples of a built-in dataset; ``args`` as returned by :func:`parse_dataset`."""
    function, kwargs = generator_of(args)
    x, y = function(**kwargs)
    name = args["name"]
    task = "regression" if name == "sine" else "classification"
    classes = args.get("classes", 2) if task == "classification" else None
    description = DESCRIPTIONS[name].format(name=name, marker=MARKER_TOKEN, **kwargs)
    return Samples(x, y, task, classes, description, _class_names(name, classes))


def generator_of(args: dict) -> tuple[Callable[..., tuple[torch.Tensor, torch.Tensor]], dict]:
    """The :mod:`app.data.synthetic` function that makes a built-in dataset, and its keyword arguments."""
    kwargs = {key: value for key, value in args.items() if key != "name"}
    if args["name"] in SHAPE_FORMATS:
        kwargs["side"], kwargs["channels"] = SHAPE_FORMATS[args["name"]]
        return synthetic.make_shapes, kwargs
    return getattr(synthetic, f"make_{args['name']}"), kwargs


def _class_names(name: str, classes: int | None) -> tuple[str, ...] | None:
    if name in SHAPE_FORMATS:
        return tuple(SHAPE_NAMES[:classes])
    return ("no marker", "marker") if name == "tokens" else None


DESCRIPTIONS = {
    "spirals": "spirals: {size} points, {classes} classes, noise {noise:g}",
    "blobs": "blobs: {size} points, {classes} classes, spread {spread:g}, noise {noise:g}",
    "moons": "moons: {size} points, 2 classes, noise {noise:g}",
    "xor": "xor: {size} points, 2 classes, noise {noise:g}",
    "sine": "sine: {size} points, y = sin(x) + noise {noise:g}",
    "shapes28": "{name}: {size} images {channels}x{side}x{side}, {classes} classes, noise {noise:g}",
    "shapes32": "{name}: {size} images {channels}x{side}x{side}, {classes} classes, noise {noise:g}",
    "tokens": "tokens: {size} sequences of {length}, vocab {vocab}, 2 classes "
    "(marker token {marker} present or not), label noise {noise:g}",
}
