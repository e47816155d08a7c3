"""Growing (x, y) series for live plots, named sets of them, and a training run's curves.

A :class:`Series` is a preallocated float64 buffer that doubles when full, so appending is
amortised O(1) and a plot can ``setData`` on views of the filled part without copying.
A :class:`SeriesSet` holds named series that share the meaning of x (step, or epoch) and writes
them as one wide CSV table. :class:`TrainingSeries` turns the engine's Step and Epoch events
into the curves of a run, by step and by epoch.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from app.atomic import write_bytes_atomic
from app.training.events import Epoch, Step

INITIAL_CAPACITY = 1024


class Series:
    """A growing buffer of (x, y) float64 points. NaN is allowed in either.

    ``x`` and ``y`` are read-only views of the filled part: they stay valid (and unchanged)
    after later appends, which may move the data to a larger buffer. ``version`` changes on
    every edit, so a view can tell whether it must redraw; ``generation`` changes only when the
    series is cleared, so a view can tell new points added from a series that started over.
    """

    __slots__ = ("_x", "_y", "_n", "version", "generation")

    def __init__(self, capacity: int = INITIAL_CAPACITY) -> None:
        capacity = max(1, int(capacity))
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self.version = 0
        self.generation = 0

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        return len(self._x)

    @property
    def x(self) -> np.ndarray:
        return _read_only(self._x[: self._n])

    @property
    def y(self) -> np.ndarray:
        return _read_only(self._y[: self._n])

    def append(self, x: float, y: float) -> None:
        if self._n == len(self._x):
            self._grow(self._n + 1)
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1
        self.version += 1

    def extend(self, xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray) -> None:
        xs = np.asarray(xs, dtype=np.float64).ravel()
        ys = np.asarray(ys, dtype=np.float64).ravel()
        if len(xs) != len(ys):
            raise ValueError(f"extend needs as many x as y values, got {len(xs)} and {len(ys)}")
        if len(xs) == 0:
            return
        end = self._n + len(xs)
        if end > len(self._x):
            self._grow(end)
        self._x[self._n : end] = xs
        self._y[self._n : end] = ys
        self._n = end
        self.version += 1

    def clear(self) -> None:
        """Forget every point. Views handed out before keep their values (new buffers are used)."""
        self._x = np.empty(INITIAL_CAPACITY, dtype=np.float64)
        self._y = np.empty(INITIAL_CAPACITY, dtype=np.float64)
        self._n = 0
        self.version += 1
        self.generation += 1

    def _grow(self, needed: int) -> None:
        capacity = len(self._x)
        while capacity < needed:
            capacity *= 2
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=np.float64)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)


def _read_only(view: np.ndarray) -> np.ndarray:
    view.flags.writeable = False
    return view


class SeriesSet:
    """Named series sharing one meaning of x (``x_label``: "step" or "epoch"), in insertion order.

    CSV layout (one wide table, what a spreadsheet charts directly): the first column is x,
    then one column per series, one row per distinct x in increasing order; a cell is empty
    where that series has no point at that x. If a series has several points at the same x
    (a run resumed over earlier steps), the k-th of them shares a row with the k-th of the
    others, so no point is lost. Numbers are written in full precision (Python's shortest
    round-trip form), whole-number columns as integers, NaN as ``nan``.
    """

    def __init__(self, x_label: str) -> None:
        self.x_label = x_label
        self._series: dict[str, Series] = {}

    def add(self, name: str) -> Series:
        """The series called ``name``, created empty if it does not exist yet."""
        if name not in self._series:
            self._series[name] = Series()
        return self._series[name]

    def get(self, name: str) -> Series | None:
        return self._series.get(name)

    def __getitem__(self, name: str) -> Series:
        return self._series[name]

    def __contains__(self, name: object) -> bool:
        return name in self._series

    def __iter__(self) -> Iterator[str]:
        return iter(self._series)

    def __len__(self) -> int:
        return len(self._series)

    def names(self) -> list[str]:
        return list(self._series)

    def table(self, names: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, values, present)``: x per row, values[row, column], and which cells hold a point."""
        names = self.names() if names is None else list(names)
        keys, rows_of = [], []
        for name in names:
            series = self._series[name]
            order = np.argsort(series.x, kind="stable")
            xs = series.x[order]
            keys.append(np.column_stack([xs, _occurrence(xs)]))
            rows_of.append(order)
        if not keys or sum(len(k) for k in keys) == 0:
            return np.empty(0), np.empty((0, len(names))), np.zeros((0, len(names)), dtype=bool)
        unique, inverse = np.unique(np.concatenate(keys), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        values = np.full((len(unique), len(names)), np.nan)
        present = np.zeros((len(unique), len(names)), dtype=bool)
        start = 0
        for column, (name, order) in enumerate(zip(names, rows_of)):
            rows = inverse[start : start + len(order)]
            values[rows, column] = self._series[name].y[order]
            present[rows, column] = True
            start += len(order)
        return unique[:, 0], values, present

    def csv_text(self, names: Iterable[str] | None = None) -> str:
        names = self.names() if names is None else list(names)
        x, values, present = self.table(names)
        columns = [_format_column(x, np.ones(len(x), dtype=bool))]
        columns += [_format_column(values[:, i], present[:, i]) for i in range(len(names))]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([self.x_label, *names])
        writer.writerows(zip(*columns))
        return out.getvalue()

    def write_csv(self, path: str | os.PathLike, names: Iterable[str] | None = None) -> None:
        """Write the table (see the class docstring) atomically; raises ProjectError if it cannot."""
        write_bytes_atomic(path, self.csv_text(names).encode("utf-8"))


def _occurrence(sorted_x: np.ndarray) -> np.ndarray:
    """For sorted x: 0 for the first point at each x, 1 for the second, ..."""
    n = len(sorted_x)
    index = np.arange(n)
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_x[1:] != sorted_x[:-1]
    return index - np.maximum.accumulate(np.where(first, index, 0))


def _format_column(values: np.ndarray, present: np.ndarray) -> list[str]:
    shown = values[present]
    whole = len(shown) > 0 and bool(np.all(np.isfinite(shown) & (shown == np.round(shown)) & (np.abs(shown) < 2.0**53)))
    if whole:
        texts = [str(v) for v in np.where(present, values, 0).astype(np.int64).tolist()]
    else:
        texts = [_float_text(v) for v in values.tolist()]
    return [text if here else "" for text, here in zip(texts, present.tolist())]


def _float_text(value: float) -> str:
    return "nan" if math.isnan(value) else repr(value)


class TrainingSeries:
    """The curves of one training run, fed with the engine's Step and Epoch events.

    ``by_step`` (x = optimizer step) holds, per step: ``"epoch"`` (1-based, as Epoch counts),
    ``"step loss"``, ``"step accuracy"`` (classification, where measured), ``"lr: <group>"``,
    ``"grad norm: <group>"`` (where measured); per epoch at x = Epoch.step: ``"train loss"``,
    ``"train accuracy"``, ``"val loss"``, ``"val accuracy"``.
    ``by_epoch`` (x = Epoch.epoch) holds ``"step"`` (Epoch.step), the train and val series,
    ``"lr: <group>"`` (Epoch.lrs) and ``"grad norm: <group>"``: the mean of the norms measured
    since the previous epoch. Accuracy series exist only for classification; a value that is
    None is not a point.
    """

    def __init__(self) -> None:
        self.groups: list[str] = []
        self.classification = False
        self.by_step = SeriesSet("step")
        self.by_epoch = SeriesSet("epoch")
        self._norm_sum = np.zeros(0)
        self._norm_count = np.zeros(0)

    def start(self, groups: Sequence[str], classification: bool) -> None:
        self.groups = []
        self.classification = classification
        self.by_step = SeriesSet("step")
        self.by_epoch = SeriesSet("epoch")
        for name in ("epoch", "step loss", "step accuracy", "train loss", "train accuracy", "val loss", "val accuracy"):
            if classification or "accuracy" not in name:
                self.by_step.add(name)
        for name in ("step", "train loss", "train accuracy", "val loss", "val accuracy"):
            if classification or "accuracy" not in name:
                self.by_epoch.add(name)
        self._norm_sum = np.zeros(0)
        self._norm_count = np.zeros(0)
        self._ensure_groups(len(groups), list(groups))

    def _ensure_groups(self, count: int, labels: Sequence[str] = ()) -> None:
        """Groups past the known ones get labels (from ``labels``, else "group <i>"), made unique."""
        while len(self.groups) < count:
            i = len(self.groups)
            label = str(labels[i]) if i < len(labels) else f"group {i}"
            unique, k = label, 2
            while unique in self.groups:
                unique, k = f"{label} ({k})", k + 1
            self.groups.append(unique)
            for series_set in (self.by_step, self.by_epoch):
                series_set.add(f"lr: {unique}")
                series_set.add(f"grad norm: {unique}")
        extra = count - len(self._norm_sum)
        if extra > 0:
            self._norm_sum = np.concatenate([self._norm_sum, np.zeros(extra)])
            self._norm_count = np.concatenate([self._norm_count, np.zeros(extra)])

    def add_steps(self, steps: Sequence[Step]) -> None:
        if not steps:
            return
        n = len(steps)
        x = np.fromiter((s.step for s in steps), np.float64, n)
        s_ = self.by_step
        s_["epoch"].extend(x, np.fromiter((s.epoch + 1 for s in steps), np.float64, n))
        s_["step loss"].extend(x, np.fromiter((s.loss for s in steps), np.float64, n))
        if self.classification:
            measured = [(s.step, s.accuracy) for s in steps if s.accuracy is not None]
            if measured:
                s_["step accuracy"].extend(*zip(*measured))
        lrs = _matrix([s.lrs for s in steps])
        self._ensure_groups(lrs.shape[1])
        for i in range(lrs.shape[1]):
            s_[f"lr: {self.groups[i]}"].extend(x, lrs[:, i])
        with_norms = [s for s in steps if s.grad_norms is not None]
        if with_norms:
            norms = _matrix([s.grad_norms for s in with_norms if s.grad_norms is not None])
            self._ensure_groups(norms.shape[1])
            nx = np.fromiter((s.step for s in with_norms), np.float64, len(with_norms))
            for i in range(norms.shape[1]):
                s_[f"grad norm: {self.groups[i]}"].extend(nx, norms[:, i])
            finite = np.isfinite(norms)
            self._norm_sum[: norms.shape[1]] += np.where(finite, norms, 0.0).sum(axis=0)
            self._norm_count[: norms.shape[1]] += finite.sum(axis=0)

    def add_epoch(self, epoch: Epoch) -> None:
        self._ensure_groups(len(epoch.lrs))
        values = {"train loss": epoch.train_loss, "val loss": epoch.val_loss}
        if self.classification:
            values |= {"train accuracy": epoch.train_accuracy, "val accuracy": epoch.val_accuracy}
        for name, value in values.items():
            if value is not None:
                self.by_step[name].append(epoch.step, value)
                self.by_epoch[name].append(epoch.epoch, value)
        self.by_epoch["step"].append(epoch.epoch, epoch.step)
        for group, lr in zip(self.groups, epoch.lrs):
            self.by_epoch[f"lr: {group}"].append(epoch.epoch, lr)
        for i, group in enumerate(self.groups):
            if self._norm_count[i] > 0:
                self.by_epoch[f"grad norm: {group}"].append(epoch.epoch, self._norm_sum[i] / self._norm_count[i])
        self._norm_sum[:] = 0.0
        self._norm_count[:] = 0.0


def _matrix(rows: list[list[float]]) -> np.ndarray:
    """Rows of per-group values as a 2-D array; ragged rows are padded with NaN."""
    try:
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim == 2:
            return matrix
    except ValueError:
        pass
    width = max(len(r) for r in rows)
    return np.array([list(r) + [math.nan] * (width - len(r)) for r in rows], dtype=np.float64)
