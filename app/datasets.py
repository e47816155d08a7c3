"""Datasets that need no download, their arguments, and the check of a dataset's JSON.

A project names its data as ``{"name": "spirals", "size": 1000, "noise": 0.2, "seed": 0}``.
Every generator draws from ``numpy.random.default_rng(seed)`` only, so the same arguments give
bit-identical samples in any process (the training worker, a DDP rank, a test). The user-file
kinds (``csv``, ``npz``) are read by :mod:`app.datafiles`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from app.errors import NNStudioError
from app.shapes import SHAPE_NAMES, draw_shapes

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
        "size": _size(), "classes": Arg("int", 3, 2, 6),
        "noise": _noise(0.2, help="standard deviation of the angle jitter, in radians"), "seed": SEED,
    },
    "blobs": {
        "size": _size(), "classes": Arg("int", 3, 2, 10),
        "spread": Arg("float", 0.5, 0.01, 10.0, help="standard deviation of each blob"),
        "noise": _noise(0.1, help="extra Gaussian jitter on every point"), "seed": SEED,
    },
    "moons": {"size": _size(), "noise": _noise(0.1, help="Gaussian jitter on every point"), "seed": SEED},
    "xor": {"size": _size(), "noise": _noise(0.1, help="Gaussian jitter on every point"), "seed": SEED},
    "sine": {"size": _size(), "noise": _noise(0.1, help="Gaussian noise on the target"), "seed": SEED},
    "shapes28": {
        "size": _size(), "classes": Arg("int", 10, 2, len(SHAPE_NAMES)),
        "noise": _noise(0.1, help="Gaussian noise on every pixel"), "seed": SEED,
    },
    "shapes32": {
        "size": _size(), "classes": Arg("int", 10, 2, len(SHAPE_NAMES)),
        "noise": _noise(0.1, help="Gaussian noise on every pixel"), "seed": SEED,
    },
    "tokens": {
        "size": _size(), "length": Arg("int", 20, 2, 4096), "vocab": Arg("int", 1000, 3, 1_000_000),
        "noise": _noise(0.0, 0.5, help="fraction of labels flipped at random"), "seed": SEED,
    },
    "csv": {
        "path": Arg("text", "", required=True), "target": Arg("text", "", required=True),
        "features": Arg("columns", None, help="null: every column but the target"),
        "task": TASK, "seed": SEED,
    },
    "npz": {
        "path": Arg("text", "", required=True), "x": Arg("text", "x"), "y": Arg("text", "y"),
        "task": TASK, "x_dtype": Arg("choice", "float32", choices=("float32", "int64")), "seed": SEED,
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
        if not isinstance(value, int) or isinstance(value, bool) or not arg.low <= value <= arg.high:
            raise NNStudioError(f"must be an integer from {arg.low} to {arg.high}, got {value!r}", where)
        return value
    if arg.kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not arg.low <= value <= arg.high:
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
    return {"shapes28": 28 * 28, "shapes32": 3 * 32 * 32, "tokens": args.get("length", 1)}.get(args["name"], 2)


def generate(args: dict) -> Samples:
    """The samples of a built-in dataset; ``args`` as returned by :func:`parse_dataset`."""
    return GENERATORS[args["name"]](args, np.random.default_rng(args["seed"]))


def _balanced_labels(rng: np.random.Generator, size: int, classes: int) -> np.ndarray:
    # Equal counts (to within one) rather than i.i.d. draws, so a small set is never lopsided.
    return rng.permutation(np.arange(size) % classes)


def _points(x: np.ndarray, labels: np.ndarray, classes: int, text: str) -> Samples:
    return Samples(
        torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64)),
        "classification", classes, text,
    )


def _spirals(args: dict, rng: np.random.Generator) -> Samples:
    size, classes, noise = args["size"], args["classes"], args["noise"]
    labels = _balanced_labels(rng, size, classes)
    t = rng.uniform(0.0, 1.0, size)
    # Arms start a little off the centre, where they would otherwise be inseparable.
    radius = 0.1 + 0.9 * t
    angle = labels * (2 * math.pi / classes) + 4.0 * t + noise * rng.standard_normal(size)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return _points(x, labels, classes, f"spirals: {size} points, {classes} classes, noise {noise:g}")


def _blobs(args: dict, rng: np.random.Generator) -> Samples:
    size, classes, spread, noise = args["size"], args["classes"], args["spread"], args["noise"]
    labels = _balanced_labels(rng, size, classes)
    # Centres evenly on a circle (turned at random), so no two blobs fall on top of each other.
    turn = rng.uniform(0.0, 2 * math.pi)
    angles = turn + np.arange(classes) * (2 * math.pi / classes)
    centres = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = centres[labels] + math.hypot(spread, noise) * rng.standard_normal((size, 2))
    return _points(x, labels, classes, f"blobs: {size} points, {classes} classes, spread {spread:g}, noise {noise:g}")


def _moons(args: dict, rng: np.random.Generator) -> Samples:
    size, noise = args["size"], args["noise"]
    labels = _balanced_labels(rng, size, 2)
    t = rng.uniform(0.0, math.pi, size)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(labels[:, None] == 0, upper, lower) - [0.5, 0.25] + noise * rng.standard_normal((size, 2))
    return _points(x, labels, 2, f"moons: {size} points, 2 classes, noise {noise:g}")


def _xor(args: dict, rng: np.random.Generator) -> Samples:
    size, noise = args["size"], args["noise"]
    labels = _balanced_labels(rng, size, 2)
    magnitude = rng.uniform(0.0, 1.0, (size, 2))
    first = rng.choice([-1.0, 1.0], size)
    # Class 0: both coordinates share a sign; class 1: they differ.
    second = np.where(labels == 0, first, -first)
    x = magnitude * np.stack([first, second], axis=1) + noise * rng.standard_normal((size, 2))
    return _points(x, labels, 2, f"xor: {size} points, 2 classes, noise {noise:g}")


def _sine(args: dict, rng: np.random.Generator) -> Samples:
    size, noise = args["size"], args["noise"]
    x = rng.uniform(-math.pi, math.pi, (size, 1))
    y = np.sin(x) + noise * rng.standard_normal((size, 1))
    return Samples(
        torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)),
        "regression", None, f"sine: {size} points, y = sin(x) + noise {noise:g}",
    )


def _shapes(args: dict, rng: np.random.Generator, side: int, channels: int) -> Samples:
    size, classes, noise = args["size"], args["classes"], args["noise"]
    labels = _balanced_labels(rng, size, classes)
    images = draw_shapes(rng, labels, side, channels, noise)
    return Samples(
        torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), "classification", classes,
        f"{args['name']}: {size} images {channels}x{side}x{side}, {classes} classes, noise {noise:g}",
        tuple(SHAPE_NAMES[:classes]),
    )


PAD_TOKEN = 0
MARKER_TOKEN = 1


def _tokens(args: dict, rng: np.random.Generator) -> Samples:
    """Sequences of ``length`` token ids; the label is 1 when the marker token appears.

    Ordinary tokens are drawn uniformly from ``2 .. vocab-1``; token 1 is the marker and token 0
    is never drawn (free for padding). Half the sequences (label 1) have the marker at 1 to 3
    random positions. An embedding plus a GRU learns this in a few epochs: it only has to
    remember whether one particular token went by. ``noise`` flips that fraction of labels,
    so the best reachable accuracy is ``1 - noise``.
    """
    size, length, vocab, noise = args["size"], args["length"], args["vocab"], args["noise"]
    labels = _balanced_labels(rng, size, 2)
    x = rng.integers(MARKER_TOKEN + 1, vocab, (size, length), dtype=np.int64)
    positives = np.flatnonzero(labels == 1)
    count = rng.integers(1, 4, len(positives))
    # A random order of the positions per row; the first `count` of them get the marker.
    order = np.argsort(rng.random((len(positives), length)), axis=1)
    chosen = order[:, :3]
    keep = np.arange(min(3, length))[None, :] < count[:, None]
    rows = np.broadcast_to(positives[:, None], chosen.shape)
    x[rows[keep], chosen[keep]] = MARKER_TOKEN
    flip = rng.random(size) < noise
    labels = np.where(flip, 1 - labels, labels)
    return Samples(
        torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64)), "classification", 2,
        f"tokens: {size} sequences of {length}, vocab {vocab}, 2 classes (marker token {MARKER_TOKEN} "
        f"present or not), label noise {noise:g}",
        ("no marker", "marker"),
    )


GENERATORS: dict[str, Callable[[dict, np.random.Generator], Samples]] = {
    "spirals": _spirals,
    "blobs": _blobs,
    "moons": _moons,
    "xor": _xor,
    "sine": _sine,
    "shapes28": lambda args, rng: _shapes(args, rng, 28, 1),
    "shapes32": lambda args, rng: _shapes(args, rng, 32, 3),
    "tokens": _tokens,
}
