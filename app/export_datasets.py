"""The built-in datasets as standalone numpy code, for exported scripts.

Each template is the generator of :mod:`app.datasets` (and :mod:`app.shapes`) written out
without nnstudio: the same draws from ``numpy.random.default_rng(seed)`` in the same order,
so an exported script trains on bit-identical samples. ``tests/core/test_export_code.py``
checks every one against the app's own generator.
"""

from __future__ import annotations

from app.shapes import RADII

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

SHAPES = f'''
def box(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v))


def stripes(along: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Five stripes across the box, the 1st, 3rd and 5th filled.
    return (box(u, v) <= 0.85) & (np.floor((along + 0.85) / 0.34).astype(np.int64) % 2 == 0)


# Which pixels each shape covers; u, v are offsets from its centre in units of its radius.
MASKS = {{
    "circle": lambda u, v: u * u + v * v <= 1.0,
    "square": lambda u, v: box(u, v) <= 0.8,
    "triangle": lambda u, v: (np.abs(v) <= 0.8) & (np.abs(u) <= (v + 0.8) * (0.9 / 1.6)),
    "cross": lambda u, v: ((np.abs(u - v) <= 0.3) | (np.abs(u + v) <= 0.3)) & (box(u, v) <= 0.85),
    "plus": lambda u, v: ((np.abs(u) <= 0.22) | (np.abs(v) <= 0.22)) & (box(u, v) <= 0.9),
    "ring": lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    "diamond": lambda u, v: np.abs(u) + np.abs(v) <= 1.0,
    "frame": lambda u, v: (box(u, v) <= 0.85) & (box(u, v) >= 0.5),
    "hbars": lambda u, v: stripes(v, u, v),
    "vbars": lambda u, v: stripes(u, u, v),
}}
CHUNK = 4096  # images drawn at a time; the random draws depend on it
RADII = {RADII!r}  # shape radii in pixels, by image side


def draw_shapes(rng: np.random.Generator, labels: np.ndarray, side: int, channels: int, noise: float) -> np.ndarray:
    """One shape per image at a random position and size, a random bright colour on a darker one."""
    count = len(labels)
    low, high = RADII.get(side, (side * 0.2, side * 0.42))
    radius = rng.uniform(low, high, count).astype(np.float32)
    cx = rng.uniform(radius, side - 1 - radius).astype(np.float32)
    cy = rng.uniform(radius, side - 1 - radius).astype(np.float32)
    pixels = np.arange(side, dtype=np.float32)
    u = (pixels[None, None, :] - cx[:, None, None]) / radius[:, None, None]
    v = (pixels[None, :, None] - cy[:, None, None]) / radius[:, None, None]
    mask = np.zeros((count, side, side), dtype=np.float32)
    for index, mask_of in enumerate(MASKS.values()):
        rows = np.flatnonzero(labels == index)
        if len(rows):
            mask[rows] = mask_of(u[rows], v[rows])
    background = rng.uniform(0.0, 0.35, (count, channels, 1, 1)).astype(np.float32)
    foreground = rng.uniform(0.5, 1.0, (count, channels, 1, 1)).astype(np.float32)
    images = background + mask[:, None] * (foreground - background)
    if noise > 0:
        jitter = rng.standard_normal(images.shape, dtype=np.float32)
        jitter *= np.float32(noise)
        images += jitter
    return images


def make_shapes(
    size: int, classes: int, noise: float, seed: int, side: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (size, channels, side, side) of shapes; the class is the shape, in MASKS order."""
    rng = np.random.default_rng(seed)
    labels = {BALANCED}
    images = np.empty((size, channels, side, side), dtype=np.float32)
    for start in range(0, size, CHUNK):
        chunk = labels[start:start + CHUNK]
        images[start:start + len(chunk)] = draw_shapes(rng, chunk, side, channels, noise)
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
