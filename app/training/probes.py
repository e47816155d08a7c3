"""Read-only probes: forward hooks (and activation-gradient hooks) that reduce what flows through
chosen modules to small statistics, every N steps.

Hooks are attached only for the steps that are sampled and removed right after, so the steps in
between run with no hook at all. On a sampled step a hook only keeps a reference to the tensor it
saw and the tensor's version counter; ``collect`` reduces them all after the backward pass, to a
handful of numbers: sum, sum of squares, min and max (exact), and an evenly strided sample of at
most SAMPLE values, from which the fixed-bin histogram and the fraction of zeros are estimated
(exact for tensors up to SAMPLE values). A tensor op costs several microseconds of dispatch on a
CPU, more than the arithmetic on a small activation, so the hooks do none.

A tensor changed in place after its hook ran (ReLU(inplace=True) after a Linear) would report
the wrong values; its version counter says so. Where a model has in-place modules, and from the
first such change on, hooks copy their tensor instead; a capture that changed before that is
left out, never reported wrong. Calls of one module in one step (DataParallel replicas, a module
used twice) are added together, so the statistics are those of the whole batch. Hooks return
None: they never change a value or a gradient.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from app.numpy_view import NUMPY_FLOATS, numpy_view  # other dtypes are reduced as float32

DEFAULT_BINS = 32
SAMPLE = 512
RANGE_MARGIN = 0.25  # the histogram range is the first sample's, widened by this share either side


@dataclass
class ProbeStats:
    path: str
    kind: str  # "activation" | "gradient"
    step: int
    count: int
    mean: float
    std: float
    min: float
    max: float
    zero_fraction: float
    hist: np.ndarray  # counts per bin, estimated from the sample (exact up to SAMPLE values) and summing
    # to count up to rounding; out-of-range values fall in the end bins

    edges: np.ndarray  # bins + 1 edges, fixed for the whole run (shared between snapshots: read-only)


class _Held(NamedTuple):
    """What one hook call saw: the tensor itself (or a copy), reduced later by ``collect``."""

    path: str
    kind: str
    tensor: torch.Tensor
    version: int  # the tensor's version counter then: a later in-place change shows as a different one


def _first_tensor(output) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


class ProbeSet:
    """The probed modules of a model. ``paths`` may change between steps (from another thread)."""

    def __init__(
        self, model: nn.Module, paths: list[str], every: int = 10, bins: int = DEFAULT_BINS, gradients: bool = False
    ) -> None:
        self.model = model
        self.every = max(1, int(every))
        self.bins = bins
        self.gradients = gradients
        self._paths = list(paths)
        self._handles: list = []
        self._held: list[_Held] = []
        self._lock = threading.Lock()  # DataParallel runs replicas in threads
        self._ranges: dict[tuple[str, str], tuple[float, float]] = {}
        self._edges: dict[tuple[str, str], np.ndarray] = {}
        self._layout: _Layout | None = None
        self._modules: dict[str, nn.Module] | None = None
        self._copy = False  # copy at capture time: set where something changes activations in place
        self.missed = 0  # captures lost to an in-place change before ``_copy`` was set

    @property
    def paths(self) -> list[str]:
        return list(self._paths)

    def set_paths(self, paths: list[str]) -> None:
        self._paths = list(paths)  # one assignment: safe from the GUI thread; used from the next sample

    def is_sampled(self, step: int) -> bool:
        return bool(self._paths) and step % self.every == 0

    def attach(self) -> None:
        if self._modules is None:
            self._modules = dict(self.model.named_modules())
            self._copy = any(getattr(module, "inplace", False) is True for module in self._modules.values())
        modules = self._modules
        for path in self._paths:
            if path in modules:
                self._handles.append(modules[path].register_forward_hook(self._hook(path)))

    def _hook(self, path: str):
        def hook(module, args, output):
            tensor = _first_tensor(output)
            if tensor is None or not tensor.is_floating_point() or tensor.numel() == 0:
                return None
            self._hold(path, "activation", tensor)
            if self.gradients and tensor.requires_grad:
                tensor.register_hook(lambda grad: self._hold(path, "gradient", grad))
            return None

        return hook

    def _hold(self, path: str, kind: str, tensor: torch.Tensor) -> None:
        tensor = tensor.detach()  # shares the version counter with what the model goes on using
        if self._copy:
            tensor = tensor.clone()
        self._held.append(_Held(path, kind, tensor, tensor._version))  # list.append is atomic

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def collect(self, step: int) -> list[ProbeStats]:
        """Statistics of the sampled step; call after backward so gradients are in."""
        self.detach()
        with self._lock:
            held, self._held = self._held, []
        unchanged = [h for h in held if h.tensor._version == h.version]
        if len(unchanged) < len(held):  # changed in place after the hook saw it: those values are gone
            self.missed += len(held) - len(unchanged)
            self._copy = True
        if not unchanged:
            return []
        parts: dict[tuple[str, str], list[_Reduced]] = {}
        for h, reduced in zip(unchanged, _reduce([h.tensor for h in unchanged])):
            parts.setdefault((h.path, h.kind), []).append(reduced)
        for key, tensors in parts.items():
            if key not in self._ranges:
                self._set_range(key, tensors[0])
        hists, zeros = self._histograms(parts)
        return [
            _stats(path, kind, step, reduced, hists[i], zeros[i], self._edges[(path, kind)])
            for i, ((path, kind), reduced) in enumerate(parts.items())
        ]

    def _histograms(self, parts: dict[tuple[str, str], list[_Reduced]]) -> tuple[np.ndarray, np.ndarray]:
        """Per key: the histogram and the number of zeros, estimated from the samples in one numpy pass.

        A sampled value stands for count / len(sample) values of its tensor. The per-value arrays
        (bin offset, range, weight) are kept while the same tensors come back, as they do step after step.
        """
        shape = tuple((key, r.numel, len(r.sample)) for key, reduced in parts.items() for r in reduced)
        if self._layout is None or self._layout.shape != shape:
            self._layout = _Layout.of(shape, list(parts), self._ranges, self.bins)
        layout = self._layout
        values = np.concatenate([r.sample for reduced in parts.values() for r in reduced])
        position = (values - layout.low) * layout.scale
        np.fmax(position, 0, out=position)  # below the range: the first bin, and NaN too (fmax drops NaN)
        np.fmin(position, self.bins - 1, out=position)  # above the range: the last bin
        bins = position.astype(np.intp)
        bins += layout.offset
        hist = np.bincount(bins, weights=layout.weight, minlength=len(parts) * self.bins)
        zeros = np.bincount(layout.owner, weights=layout.weight * (values == 0), minlength=len(parts))
        return np.rint(hist).astype(np.int64).reshape(len(parts), self.bins), zeros

    def _set_range(self, key: tuple[str, str], first: _Reduced) -> None:
        """Fixed for the whole run from the first sample's finite values."""
        low, high = first.low, first.high
        if not (math.isfinite(low) and math.isfinite(high)):
            finite = first.sample[np.isfinite(first.sample)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        span = max(high - low, 1e-6)
        edges = np.linspace(low - RANGE_MARGIN * span, high + RANGE_MARGIN * span, self.bins + 1)
        edges.flags.writeable = False
        self._edges[key] = edges
        self._ranges[key] = (float(edges[0]), float(edges[-1]))

    def close(self) -> None:
        self.detach()
        with self._lock:
            self._held.clear()


class _Reduced(NamedTuple):
    """One tensor in a few numbers: exact count, sum, sum of squares, min and max, and a strided sample."""

    numel: int
    total: float
    squares: float
    low: float
    high: float
    sample: np.ndarray


def _reduce(tensors: list[torch.Tensor]) -> list[_Reduced]:
    """CPU tensors are read in place through numpy, which for the small tensors of a step costs a
    fraction of torch's per-op dispatch; tensors on a device are reduced there, and the results
    of all of them come back in two copies."""
    reduced: list[_Reduced | None] = []
    on_device: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    for i, tensor in enumerate(tensors):
        if tensor.dtype not in NUMPY_FLOATS:
            tensor = tensor.float()
        stride = max(1, tensor.numel() // SAMPLE)
        values = numpy_view(tensor)
        if values is not None:
            values = values.reshape(-1)
            # argmin / argmax take a lighter path through numpy than min / max (a NaN wins either way)
            reduced.append(
                _Reduced(
                    values.size,
                    float(np.dot(values, _ones(values))),
                    float(np.dot(values, values)),
                    float(values[values.argmin()]),
                    float(values[values.argmax()]),
                    values[::stride],
                )
            )
        else:
            x = tensor.reshape(-1)
            smallest, largest = torch.aminmax(x)
            on_device.append((i, torch.stack([x.sum(), torch.dot(x, x), smallest, largest]), x[::stride]))
            reduced.append(None)
    if on_device:
        summaries = torch.stack([summary for _, summary, _ in on_device]).double().cpu().tolist()
        copied = torch.cat([sample.float() for _, _, sample in on_device]).cpu().numpy()
        start = 0
        for (i, _, sample), (total, squares, low, high) in zip(on_device, summaries):
            reduced[i] = _Reduced(tensors[i].numel(), total, squares, low, high, copied[start : start + len(sample)])
            start += len(sample)
    return [r for r in reduced if r is not None]  # every slot is filled: on the CPU or from a device


_ONES: dict[np.dtype, np.ndarray] = {}


def _ones(values: np.ndarray) -> np.ndarray:
    """A vector of ones as long as ``values``, kept between calls: a dot product with it is the sum, in BLAS."""
    ones = _ONES.get(values.dtype)
    if ones is None or len(ones) < values.size:
        ones = _ONES[values.dtype] = np.ones(values.size, values.dtype)
    return ones[: values.size]


class _Layout(NamedTuple):
    """Where each sampled value of a step goes in the stacked histograms, and what it weighs."""

    shape: tuple
    low: np.ndarray  # the range's low end, per value
    scale: np.ndarray  # bins per unit, per value
    offset: np.ndarray  # the first bin of the value's key in the stacked histograms
    owner: np.ndarray  # the index of the value's key
    weight: np.ndarray  # how many values of its tensor a sampled value stands for

    @classmethod
    def of(cls, shape: tuple, keys: list, ranges: dict, bins: int) -> _Layout:
        index = {key: i for i, key in enumerate(keys)}
        sizes = [size for _, _, size in shape]
        owner = np.repeat([index[key] for key, _, _ in shape], sizes)
        low = np.array([ranges[key][0] for key in keys])
        scale = np.array([bins / (ranges[key][1] - ranges[key][0]) for key in keys])
        weight = np.repeat([count / size for _, count, size in shape], sizes)
        return cls(shape, low[owner], scale[owner], owner * bins, owner, weight)


def _stats(
    path: str, kind: str, step: int, parts: list[_Reduced], hist: np.ndarray, zeros: float, edges: np.ndarray
) -> ProbeStats:
    """The calls of one module in one step (usually one) as one set of statistics."""
    count = sum(r.numel for r in parts)
    mean = sum(r.total for r in parts) / count
    variance = max(sum(r.squares for r in parts) / count - mean * mean, 0.0)
    std = math.sqrt(variance * count / max(count - 1, 1))
    if len(parts) == 1:
        low, high = parts[0].low, parts[0].high
    else:  # numpy's min and max, unlike Python's, let a NaN through
        low, high = float(np.min([r.low for r in parts])), float(np.max([r.high for r in parts]))
    return ProbeStats(path, kind, step, count, mean, std, low, high, float(zeros) / count, hist, edges)
