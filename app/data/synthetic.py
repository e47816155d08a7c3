"""The built-in synthetic datasets, generated with torch alone.

This is the one copy of the generators: :mod:`app.data.datasets` calls them, and an exported script
carries their source (:mod:`app.interop.script_datasets` copies the definitions a dataset needs), so the
script needs nothing but torch. That is why this module imports only ``math`` and ``torch``.

Every generator draws from its own ``torch.Generator().manual_seed(seed)`` and nothing else, in
a fixed order, so the same arguments give bit-identical tensors in any process (the training
worker, a DDP rank, a test, an exported script). Points and sine values are computed in float64
and cast to float32 at the end: a last-bit difference in a float64 cosine (vectorised and scalar
code can differ, and how many threads share the work decides which runs) practically never
survives the cast. Shape images are drawn in float32 with plain arithmetic only. Labels and
token ids are int64.
"""

from __future__ import annotations

import math

import torch


def seeded(seed: int) -> torch.Generator:
    """The only source of random numbers for one dataset."""
    return torch.Generator().manual_seed(seed)


def uniform(generator: torch.Generator, low, high, shape) -> torch.Tensor:
    """float64 numbers uniform in [low, high); low and high may be tensors of the shape."""
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def normal(generator: torch.Generator, shape) -> torch.Tensor:
    """Standard normal float64 numbers."""
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def balanced_labels(generator: torch.Generator, size: int, classes: int) -> torch.Tensor:
    """Equal counts per class (to within one) in a random order, so a small set is never lopsided."""
    return (torch.arange(size) % classes)[torch.randperm(size, generator=generator)]


def make_spirals(size: int, classes: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on `classes` interleaved spiral arms; `noise` jitters the angle (radians)."""
    generator = seeded(seed)
    labels = balanced_labels(generator, size, classes)
    t = uniform(generator, 0.0, 1.0, size)
    radius = 0.1 + 0.9 * t  # the arms start off the centre, where they would be inseparable
    angle = labels.double() * (2 * math.pi / classes) + 4.0 * t + noise * normal(generator, size)
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return x.float(), labels


def make_blobs(size: int, classes: int, spread: float, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs of standard deviation `spread`, plus Gaussian jitter `noise` on every point.

    The centres lie evenly on a circle of radius 3 (turned at random), so no two blobs fall on
    top of each other.
    """
    generator = seeded(seed)
    labels = balanced_labels(generator, size, classes)
    turn = uniform(generator, 0.0, 2 * math.pi, 1)
    angles = turn + torch.arange(classes, dtype=torch.float64) * (2 * math.pi / classes)
    centres = 3.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    x = centres[labels] + math.hypot(spread, noise) * normal(generator, (size, 2))
    return x.float(), labels


def make_moons(size: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles, with Gaussian jitter `noise` on every point."""
    generator = seeded(seed)
    labels = balanced_labels(generator, size, 2)
    t = uniform(generator, 0.0, math.pi, size)
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1.0 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    centre = torch.tensor([0.5, 0.25], dtype=torch.float64)
    x = torch.where(labels[:, None] == 0, upper, lower) - centre + noise * normal(generator, (size, 2))
    return x.float(), labels


def make_xor(size: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: both coordinates share a sign; class 1: they differ. `noise` jitters every point."""
    generator = seeded(seed)
    labels = balanced_labels(generator, size, 2)
    magnitude = uniform(generator, 0.0, 1.0, (size, 2))
    first = torch.randint(0, 2, (size,), generator=generator).double() * 2.0 - 1.0  # a random sign
    second = torch.where(labels == 0, first, -first)
    x = magnitude * torch.stack([first, second], dim=1) + noise * normal(generator, (size, 2))
    return x.float(), labels


def make_sine(size: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Regression: y = sin(x) + Gaussian noise, x uniform in [-pi, pi]; both of shape (size, 1)."""
    generator = seeded(seed)
    x = uniform(generator, -math.pi, math.pi, (size, 1))
    y = torch.sin(x) + noise * normal(generator, (size, 1))
    return x.float(), y.float()


MARKER_TOKEN = 1  # token 0 is never drawn: it stays free for padding


def make_tokens(size: int, length: int, vocab: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of `length` token ids; the label is 1 when the marker token appears.

    Ordinary tokens are drawn uniformly from 2 .. vocab-1. Half the sequences (label 1) have the
    marker at 1 to 3 random positions. An embedding plus a GRU learns this in a few epochs: it
    only has to remember whether one particular token went by. `noise` flips that fraction of
    the labels, so the best reachable accuracy is 1 - noise.
    """
    generator = seeded(seed)
    labels = balanced_labels(generator, size, 2)
    x = torch.randint(MARKER_TOKEN + 1, vocab, (size, length), generator=generator)
    positives = torch.nonzero(labels == 1).flatten()
    count = torch.randint(1, 4, (len(positives),), generator=generator)
    chosen = distinct_positions(generator, len(positives), length, min(3, length))
    keep = torch.arange(chosen.shape[1]) < count[:, None]  # the first `count` positions of each row
    rows = positives[:, None].expand_as(chosen)
    x[rows[keep], chosen[keep]] = MARKER_TOKEN
    flip = torch.rand(size, generator=generator, dtype=torch.float64) < noise
    return x, torch.where(flip, 1 - labels, labels)


def distinct_positions(generator: torch.Generator, rows: int, length: int, count: int) -> torch.Tensor:
    """(rows, count) positions in 0 .. length-1, all different within a row, uniformly at random."""
    taken = torch.empty(rows, 0, dtype=torch.int64)
    for drawn in range(count):
        # A position among the ones still free, then stepped over each taken one at or below it.
        position = torch.randint(0, length - drawn, (rows,), generator=generator)
        for earlier in taken.sort(dim=1).values.T:
            position += position >= earlier
        taken = torch.cat([taken, position[:, None]], dim=1)
    return taken


def box(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The distance from the centre in the maximum norm: a square's outline is box == constant."""
    return torch.maximum(u.abs(), v.abs())


def stripes(along: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Five stripes across the box, the 1st, 3rd and 5th filled."""
    return (box(u, v) <= 0.85) & (torch.floor((along + 0.85) / 0.34).long() % 2 == 0)


# Each mask takes u, v: pixel offsets from the shape's centre in units of its radius (v grows
# downwards, as rows do) and says which pixels the shape covers. Every shape fits in |u|, |v| <= 1.
SHAPE_MASKS = {
    "circle": lambda u, v: u * u + v * v <= 1.0,
    "square": lambda u, v: box(u, v) <= 0.8,
    "triangle": lambda u, v: (v.abs() <= 0.8) & (u.abs() <= (v + 0.8) * (0.9 / 1.6)),
    "cross": lambda u, v: (((u - v).abs() <= 0.3) | ((u + v).abs() <= 0.3)) & (box(u, v) <= 0.85),
    "plus": lambda u, v: ((u.abs() <= 0.22) | (v.abs() <= 0.22)) & (box(u, v) <= 0.9),
    "ring": lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    "diamond": lambda u, v: u.abs() + v.abs() <= 1.0,
    "frame": lambda u, v: (box(u, v) <= 0.85) & (box(u, v) >= 0.5),
    "hbars": lambda u, v: stripes(v, u, v),
    "vbars": lambda u, v: stripes(u, u, v),
}
# Radii in pixels: big enough that bars and rings stay visible, small enough to move around.
SHAPE_RADII = {28: (6.0, 12.0), 32: (7.0, 14.0)}
SHAPES_CHUNK = 4096  # images drawn at a time, so the temporaries stay small


def make_shapes(
    size: int, classes: int, noise: float, seed: int, side: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 images (size, channels, side, side); the class is the shape, in SHAPE_MASKS order.

    Each image holds one shape at a random position and size, in a random foreground colour on a
    random darker background, plus Gaussian pixel noise `noise`. Colour, position and size vary
    within every class, so a network has to learn the outline.
    """
    generator = seeded(seed)
    labels = balanced_labels(generator, size, classes)
    images = torch.empty(size, channels, side, side, dtype=torch.float32)
    for start in range(0, size, SHAPES_CHUNK):
        chunk = labels[start : start + SHAPES_CHUNK]
        images[start : start + len(chunk)] = draw_shapes(generator, chunk, side, channels, noise)
    return images, labels


def draw_shapes(
    generator: torch.Generator, labels: torch.Tensor, side: int, channels: int, noise: float
) -> torch.Tensor:
    """float32 images (len(labels), channels, side, side); label i is the i-th shape of SHAPE_MASKS."""
    count = len(labels)
    low, high = SHAPE_RADII.get(side, (side * 0.2, side * 0.42))
    radius = uniform(generator, low, high, count).float()
    # Centres keep the whole shape inside the image.
    cx = uniform(generator, radius, side - 1 - radius, count).float()
    cy = uniform(generator, radius, side - 1 - radius, count).float()
    pixels = torch.arange(side, dtype=torch.float32)
    u = (pixels[None, None, :] - cx[:, None, None]) / radius[:, None, None]  # (count, 1, side)
    v = (pixels[None, :, None] - cy[:, None, None]) / radius[:, None, None]  # (count, side, 1)
    covered = torch.zeros(count, side, side, dtype=torch.bool)
    for index, mask in enumerate(SHAPE_MASKS.values()):
        rows = torch.nonzero(labels == index).flatten()
        if len(rows):
            covered[rows] = mask(u[rows], v[rows])
    # Every channel of the shape is brighter than the background, so it never vanishes.
    background = uniform(generator, 0.0, 0.35, (count, channels, 1, 1)).float()
    foreground = uniform(generator, 0.5, 1.0, (count, channels, 1, 1)).float()
    images = torch.where(covered[:, None], foreground, background)
    if noise > 0:
        images += noise * torch.randn(images.shape, generator=generator, dtype=torch.float32)
    return images
