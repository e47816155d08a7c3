"""Probe statistics over a run: percentile bands from fixed-bin histograms, kept per probed module.

The bands are TensorBoard's distribution bands: min and max, and the percentiles a normal
distribution has at -1.5, -1, -0.5, 0, 0.5, 1 and 1.5 standard deviations (6.68%, 15.87%, 30.85%,
the median, ...), read from each snapshot's histogram by linear interpolation inside a bin. A probe's end bins also hold
the values outside its fixed range, so the outer bands are replaced by the exact min and max the
probe measured, and the others are clipped to them.

"Dead" units are counted only where a zero is a verdict: layers whose output is exactly zero, with
a zero gradient, over a whole half-line of inputs (ReLU, ReLU6, Hardswish). Leaky and smooth
variants (LeakyReLU, PReLU, RReLU, ELU, GELU, SiLU, ...) never output exact zeros for negative
inputs; Threshold replaces with an arbitrary value that the class name does not tell; Hardtanh and
Hardsigmoid saturate at their ends rather than die at zero. Other layers show their statistics
without a dead fraction.
"""

from __future__ import annotations

import math

import numpy as np

from app.training.events import ProbeSnapshot
from app.training.probes import ProbeStats

BANDS: tuple[float, ...] = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)
RELU_LIKE: frozenset[str] = frozenset({"ReLU", "ReLU6", "Hardswish"})
INITIAL_ROWS = 64
MAX_PENDING = 256  # snapshots queued per probe before they are made into rows anyway


def is_relu_like(type_name: str) -> bool:
    """Whether a layer of this class outputs exact zeros for a half-line of inputs (see the module doc)."""
    return type_name in RELU_LIKE


def percentiles_from_histogram(hist: np.ndarray, edges: np.ndarray, qs) -> np.ndarray:
    """The ``qs`` percentiles (0..100) of the values a histogram counts, assuming each bin's values
    are spread evenly over the bin. 0 is the left edge of the first non-empty bin, 100 the right
    edge of the last. An empty histogram gives NaN for every percentile.

    ``hist`` may also be a stack of histograms over the same edges (shape ``(rows, bins)``): the
    result then has a row of percentiles per histogram."""
    counts = np.asarray(hist, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    qs = np.asarray(qs, dtype=np.float64)
    bins = counts.shape[-1] if counts.ndim else 0
    if counts.ndim not in (1, 2) or edges.shape != (bins + 1,):
        raise ValueError(f"{bins} bins need {bins + 1} edges, got {edges.size}")
    rows = counts.reshape(-1, bins)
    cumulative = np.zeros((len(rows), bins + 1))
    np.cumsum(np.maximum(rows, 0.0), axis=1, out=cumulative[:, 1:])
    total = cumulative[:, -1:]
    targets = np.clip(qs, 0.0, 100.0) / 100.0 * total  # (rows, len(qs))
    # The first edge whose cumulative count reaches the target ends the bin holding it (cumulative
    # counts only grow, so that edge's index is how many are below the target); a target of zero
    # belongs to the first bin with anything in it.
    below_target = (cumulative[:, None, :] < targets[:, :, None]).sum(axis=2)
    first_filled = (cumulative <= 0).sum(axis=1, keepdims=True)
    ends = np.clip(np.where(targets > 0, below_target, first_filled), 1, bins)
    before = np.take_along_axis(cumulative, ends - 1, axis=1)
    inside = np.take_along_axis(cumulative, ends, axis=1) - before
    share = np.divide(targets - before, inside, out=np.zeros_like(targets), where=inside > 0)
    result = edges[ends - 1] + np.clip(share, 0.0, 1.0) * (edges[ends] - edges[ends - 1])
    result[total[:, 0] <= 0] = np.nan
    return result.reshape(counts.shape[:-1] + qs.shape)


def reduce_blocks(columns: np.ndarray, size: int, how: str) -> np.ndarray:
    """Every ``size`` consecutive rows (the last block may be shorter) reduced to one by ``how``:
    "first", "mean", "min" or "max"."""
    starts = np.arange(0, len(columns), size)
    if how == "first":
        return columns[starts]
    if how == "min":
        return np.minimum.reduceat(columns, starts, axis=0)
    if how == "max":
        return np.maximum.reduceat(columns, starts, axis=0)
    lengths = np.diff(np.append(starts, len(columns))).reshape((-1,) + (1,) * (columns.ndim - 1))
    return np.add.reduceat(columns, starts, axis=0) / lengths


def envelope(steps: np.ndarray, bands: np.ndarray, qs, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``max_points`` rows of bands for a plot: the lower bands keep each block's
    lowest value, the upper ones its highest and the median its mean, so a spike stays visible.
    Short histories come back as they are (views, no copy)."""
    if len(steps) <= max_points:
        return steps, bands
    size = math.ceil(len(steps) / max_points)
    qs = np.asarray(qs)
    out = np.empty((math.ceil(len(steps) / size), bands.shape[1]))
    for columns, how in ((qs < 50, "min"), (qs > 50, "max"), (qs == 50, "mean")):
        if columns.any():
            out[:, columns] = reduce_blocks(bands[:, columns], size, how)
    return reduce_blocks(steps, size, "first"), out


class ProbeSeries:
    """One probe (module path, kind) over a run: a row per snapshot in buffers that grow by doubling.

    ``add`` only queues the snapshot's statistics; they are turned into rows (percentiles and all,
    many snapshots at once) when something reads the rows, or when enough have queued up.
    """

    SCALARS = ("step", "mean", "std", "zero_fraction", "min", "max")

    def __init__(self, path: str, kind: str, qs: tuple[float, ...]) -> None:
        self.path = path
        self.kind = kind
        self.qs = tuple(qs)
        self.latest: ProbeStats | None = None
        self._columns = {name: np.empty(INITIAL_ROWS) for name in self.SCALARS}
        self._bands = np.empty((INITIAL_ROWS, len(self.qs)))
        self._stored = 0
        self._pending: list[ProbeStats] = []

    def add(self, stats: ProbeStats) -> None:
        self._pending.append(stats)
        self.latest = stats
        if len(self._pending) >= MAX_PENDING:
            self._flush()

    @property
    def size(self) -> int:
        return self._stored + len(self._pending)

    @property
    def hist(self) -> np.ndarray | None:
        """The latest histogram (counts per bin)."""
        return None if self.latest is None else self.latest.hist

    @property
    def edges(self) -> np.ndarray | None:
        return None if self.latest is None else self.latest.edges

    @property
    def last_step(self) -> int | None:
        return None if self.latest is None else self.latest.step

    def column(self, name: str) -> np.ndarray:
        """A view of one scalar over the snapshots so far (``step``, ``mean``, ``std``, ...)."""
        self._flush()
        return self._columns[name][: self._stored]

    @property
    def steps(self) -> np.ndarray:
        return self.column("step")

    @property
    def bands(self) -> np.ndarray:
        """A view: a row per snapshot, a column per percentile in ``qs``."""
        self._flush()
        return self._bands[: self._stored]

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        start, stop = self._stored, self._stored + len(pending)
        while stop > len(self._bands):
            self._grow()
        for name in self.SCALARS:
            self._columns[name][start:stop] = [getattr(stats, name) for stats in pending]
        # the edges are fixed per probe for a run; a run that changed them anyway is grouped by them
        i = 0
        while i < len(pending):
            j = i + 1
            while j < len(pending) and pending[j].edges is pending[i].edges:
                j += 1
            group = pending[i:j]
            if all(len(stats.hist) == len(group[0].hist) for stats in group):
                hists = np.stack([stats.hist for stats in group])
                self._bands[start + i : start + j] = percentiles_from_histogram(hists, group[0].edges, self.qs)
            else:
                for k, stats in enumerate(group):
                    self._bands[start + i + k] = percentiles_from_histogram(stats.hist, stats.edges, self.qs)
            i = j
        self._clip_to_range(start, stop)
        self._stored = stop

    def _clip_to_range(self, start: int, stop: int) -> None:
        """The end bins also hold what fell outside the fixed range: the measured min and max are
        the real ends, and no percentile lies beyond them."""
        low = self._columns["min"][start:stop, None]
        high = self._columns["max"][start:stop, None]
        bands = self._bands[start:stop]
        known = np.isfinite(low) & np.isfinite(high) & (low <= high)
        qs = np.asarray(self.qs)
        clipped = np.clip(bands, low, high)
        clipped = np.where(qs <= 0, low, np.where(qs >= 100, high, clipped))
        self._bands[start:stop] = np.where(known, clipped, bands)

    def _grow(self) -> None:
        capacity = 2 * len(self._bands)
        for name, column in self._columns.items():
            grown = np.empty(capacity)
            grown[: self._stored] = column[: self._stored]
            self._columns[name] = grown
        bands = np.empty((capacity, len(self.qs)))
        bands[: self._stored] = self._bands[: self._stored]
        self._bands = bands


class ProbeHistory:
    """Every probe seen in a run, by (module path, kind), with the step of the latest snapshot."""

    def __init__(self, qs: tuple[float, ...] = BANDS) -> None:
        self.qs = tuple(qs)
        self._series: dict[tuple[str, str], ProbeSeries] = {}
        self._paths: dict[str, None] = {}  # in the order first seen
        self.latest_step: int | None = None

    def clear(self) -> None:
        self._series.clear()
        self._paths.clear()
        self.latest_step = None

    def add(self, snapshot: ProbeSnapshot) -> set[str]:
        """Adds a row to each probe in ``snapshot``; returns the module paths it had."""
        seen: set[str] = set()
        for stats in snapshot.stats:
            key = (stats.path, stats.kind)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = ProbeSeries(stats.path, stats.kind, self.qs)
                self._paths.setdefault(stats.path)
            series.add(stats)
            seen.add(stats.path)
        if self.latest_step is None or snapshot.step > self.latest_step:
            self.latest_step = snapshot.step
        return seen

    def paths(self) -> list[str]:
        return list(self._paths)

    def series(self, path: str, kind: str = "activation") -> ProbeSeries | None:
        return self._series.get((path, kind))

    def kinds(self, path: str) -> list[str]:
        return [kind for (p, kind) in self._series if p == path]

    def last_step(self, path: str) -> int | None:
        """The latest step ``path`` was in a snapshot (any kind)."""
        steps = [s.last_step for (p, _), s in self._series.items() if p == path and s.last_step is not None]
        return max(steps) if steps else None

    def has_kind(self, kind: str) -> bool:
        return any(k == kind for (_, k) in self._series)
