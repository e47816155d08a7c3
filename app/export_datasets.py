"""The built-in datasets as standalone numpy code, for exported scripts.

Each template is the generator of :mod:`app.datasets` written out without nnstudio (the shapes
are :mod:`app.shapes`' own source): the same draws from ``numpy.random.default_rng(seed)`` in the same order,
so an exported script trains on bit-identical samples. ``tests/core/test_export_code.py``
checks every one against the app's own generator.
"""

from __future__ import annotations

import inspect

from app import shapes

# The labels of every classification generator: equal counts per class, in a random order.
BALANCED = "rng.permutation(np.arange(size) % classes)"

SPIRALS = f'''
def make_spirals(size: int, classes: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on `classes` interleaved spiral arms; noise jitters the angle (radians)."""
    rng = np.random.default_rng(seed)
    labels = {BALANCED}
    t = rng.uniform(0.0, 1.0, size)
    radius = 0.1 + 0.9 * t  # arms start off the centre, where they would be inseparable
    angle = labels * (2 * math.pi / classes) + 4.0 * t + noise * rng.standard_normal(size)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))
'''

BLOBS = f'''
def make_blobs(size: int, classes: int, spread: float, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs with their centres evenly on a circle of radius 3 (turned at random)."""
    rng = np.random.default_rng(seed)
    labels = {BALANCED}
    turn = rng.uniform(0.0, 2 * math.pi)
    angles = turn + np.arange(classes) * (2 * math.pi / classes)
    centres = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = centres[labels] + math.hypot(spread, noise) * rng.standard_normal((size, 2))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))
'''

MOONS = f'''
def make_moons(size: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles."""
    rng = np.random.default_rng(seed)
    classes = 2
    labels = {BALANCED}
    t = rng.uniform(0.0, math.pi, size)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(labels[:, None] == 0, upper, lower) - [0.5, 0.25] + noise * rng.standard_normal((size, 2))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))
'''

XOR = f'''
def make_xor(size: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: both coordinates share a sign; class 1: they differ."""
    rng = np.random.default_rng(seed)
    classes = 2
    labels = {BALANCED}
    magnitude = rng.uniform(0.0, 1.0, (size, 2))
    first = rng.choice([-1.0, 1.0], size)
    second = np.where(labels == 0, first, -first)
    x = magnitude * np.stack([first, second], axis=1) + noise * rng.standard_normal((size, 2))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))
'''

SINE = '''
def make_sine(size: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Regression: y = sin(x) + Gaussian noise, x uniform in [-pi, pi]; both of shape (size, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-math.pi, math.pi, (size, 1))
    y = np.sin(x) + noise * rng.standard_normal((size, 1))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
'''

TOKENS = f'''
def make_tokens(size: int, length: int, vocab: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of token ids; the label is 1 when the marker token 1 appears (token 0 is never drawn).

    Half the sequences (label 1) get the marker at 1 to 3 random positions; `noise` flips that
    fraction of the labels.
    """
    rng = np.random.default_rng(seed)
    classes = 2
    labels = {BALANCED}
    x = rng.integers(2, vocab, (size, length), dtype=np.int64)
    positives = np.flatnonzero(labels == 1)
    count = rng.integers(1, 4, len(positives))
    order = np.argsort(rng.random((len(positives), length)), axis=1)  # random positions per row
    chosen = order[:, :3]
    keep = np.arange(min(3, length))[None, :] < count[:, None]
    rows = np.broadcast_to(positives[:, None], chosen.shape)
    x[rows[keep], chosen[keep]] = 1
    flip = rng.random(size) < noise
    labels = np.where(flip, 1 - labels, labels)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
'''

def _shapes_module() -> str:
    """app/shapes.py itself, less its docstring and future import: the drawing is not copied."""
    source = inspect.getsource(shapes)
    body = source[source.index("from typing import Callable"):]
    return "# The shape images, as nnstudio draws them (app/shapes.py)\n" + body


SHAPES = _shapes_module() + f'''

def make_shapes(
    size: int, classes: int, noise: float, seed: int, side: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (size, channels, side, side) of shapes; the class is the shape, in MASKS order."""
    rng = np.random.default_rng(seed)
    labels = {BALANCED}
    images = draw_shapes(rng, labels, side, channels, noise)
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
'''

TEMPLATES = {
    "spirals": SPIRALS, "blobs": BLOBS, "moons": MOONS, "xor": XOR, "sine": SINE, "tokens": TOKENS,
    "shapes28": SHAPES, "shapes32": SHAPES,
}
SHAPE_SIZES = {"shapes28": (28, 1), "shapes32": (32, 3)}


def generator_source(name: str) -> str:
    return TEMPLATES[name].strip("\n")


def generator_call(args: dict) -> str:
    """``make_spirals(size=1500, classes=3, noise=0.2, seed=0)`` for a parsed dataset."""
    name = args["name"]
    values = {key: value for key, value in args.items() if key != "name"}
    function = "make_shapes" if name in SHAPE_SIZES else f"make_{name}"
    if name in SHAPE_SIZES:
        values["side"], values["channels"] = SHAPE_SIZES[name]
    return f"{function}({', '.join(f'{key}={value!r}' for key, value in values.items())})"
