"""Small synthetic images of shapes, drawn with vectorised numpy (no drawing library).

Each image holds one shape at a random position and size, in a random foreground colour on a
random darker background, plus Gaussian pixel noise. The class is the shape only: colour,
position and size vary within every class, so a network has to learn the outline.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

# Each mask takes u, v: pixel offsets from the shape's centre in units of its radius (v grows
# downwards, as rows do) and says which pixels the shape covers. Every shape fits in |u|, |v| <= 1.
Mask = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _box(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v))


def _stripes(along: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Five stripes across the box, the 1st, 3rd and 5th filled.
    return (_box(u, v) <= 0.85) & (np.floor((along + 0.85) / 0.34).astype(np.int64) % 2 == 0)


MASKS: dict[str, Mask] = {
    "circle": lambda u, v: u * u + v * v <= 1.0,
    "square": lambda u, v: _box(u, v) <= 0.8,
    "triangle": lambda u, v: (np.abs(v) <= 0.8) & (np.abs(u) <= (v + 0.8) * (0.9 / 1.6)),
    "cross": lambda u, v: ((np.abs(u - v) <= 0.3) | (np.abs(u + v) <= 0.3)) & (_box(u, v) <= 0.85),
    "plus": lambda u, v: ((np.abs(u) <= 0.22) | (np.abs(v) <= 0.22)) & (_box(u, v) <= 0.9),
    "ring": lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    "diamond": lambda u, v: np.abs(u) + np.abs(v) <= 1.0,
    "frame": lambda u, v: (_box(u, v) <= 0.85) & (_box(u, v) >= 0.5),
    "hbars": lambda u, v: _stripes(v, u, v),
    "vbars": lambda u, v: _stripes(u, u, v),
}
SHAPE_NAMES = list(MASKS)
# Radii in pixels: big enough that bars and rings stay visible, small enough to move around.
RADII = {28: (6.0, 12.0), 32: (7.0, 14.0)}
CHUNK = 4096  # images drawn at a time, so the float temporaries stay small


def draw_shapes(
    rng: np.random.Generator, labels: np.ndarray, side: int, channels: int, noise: float
) -> np.ndarray:
    """Images of shape (len(labels), channels, side, side), float32, label i -> SHAPE_NAMES[i]."""
    images = np.empty((len(labels), channels, side, side), dtype=np.float32)
    for start in range(0, len(labels), CHUNK):
        chunk = labels[start:start + CHUNK]
        images[start:start + len(chunk)] = _draw_chunk(rng, chunk, side, channels, noise)
    return images


def _draw_chunk(rng: np.random.Generator, labels: np.ndarray, side: int, channels: int, noise: float) -> np.ndarray:
    count = len(labels)
    low, high = RADII.get(side, (side * 0.2, side * 0.42))
    radius = rng.uniform(low, high, count).astype(np.float32)
    # Centres keep the whole shape inside the image.
    cx = rng.uniform(radius, side - 1 - radius).astype(np.float32)
    cy = rng.uniform(radius, side - 1 - radius).astype(np.float32)
    pixels = np.arange(side, dtype=np.float32)
    u = (pixels[None, None, :] - cx[:, None, None]) / radius[:, None, None]  # (count, 1, side)
    v = (pixels[None, :, None] - cy[:, None, None]) / radius[:, None, None]  # (count, side, 1)
    mask = np.zeros((count, side, side), dtype=np.float32)
    for index, name in enumerate(SHAPE_NAMES):
        rows = np.flatnonzero(labels == index)
        if len(rows):
            mask[rows] = MASKS[name](u[rows], v[rows])
    # Every channel of the shape is brighter than the background, so it never vanishes.
    background = rng.uniform(0.0, 0.35, (count, channels, 1, 1)).astype(np.float32)
    foreground = rng.uniform(0.5, 1.0, (count, channels, 1, 1)).astype(np.float32)
    images = background + mask[:, None] * (foreground - background)
    if noise > 0:
        jitter = rng.standard_normal(images.shape, dtype=np.float32)
        jitter *= np.float32(noise)
        images += jitter
    return images
