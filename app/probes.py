"""Read-only probes: forward hooks (and activation-gradient hooks) that reduce what flows through
chosen modules to small statistics, every N steps.

Hooks are attached only for the steps that are sampled and removed right after, so the steps in
between run with no hook at all. On a sampled step each hook reduces its tensor at once, on the
tensor's own device (a later in-place op such as ReLU(inplace=True) must not change what was seen),
to a handful of numbers: sum, sum of squares, min and max (exact), and a copy of an evenly strided
sample of at most SAMPLE values, from which the fixed-bin histogram and the fraction of zeros are
estimated (exact for tensors up to SAMPLE values). Every tensor op costs several microseconds on
a CPU and torch's own histogram far more, so a probed call is kept to five small ops; the
histograms of a whole step are counted afterwards with numpy, after one copy off the device. Calls of one module in one step
(DataParallel replicas, a module used twice) are added together, so the statistics are those of the
whole batch. Hooks return None: they never change a value or a gradient.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

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
    hist: np.ndarray   # counts per bin, estimated from the sample (exact up to SAMPLE values) and summing
                       # to count up to rounding; out-of-range values fall in the end bins

    edges: np.ndarray  # bins + 1 edges, fixed for the whole run (shared between snapshots: read-only)


class _Part(NamedTuple):
    """One call's reduction, still on its device."""

    path: str
    kind: str
    count: int
    summary: tuple[torch.Tensor, ...]  # sum, sum of squares, min, max: 0-d tensors
    sample: torch.Tensor               # a strided copy, for the histogram and the zeros


def _first_tensor(output) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


class ProbeSet:
    """The probed modules of a model. ``paths`` may change between steps (from another thread)."""

    def __init__(self, model: nn.Module, paths: list[str], every: int = 10, bins: int = DEFAULT_BINS,
                 gradients: bool = False) -> None:
        self.model = model
        self.every = max(1, int(every))
        self.bins = bins
        self.gradients = gradients
        self._paths = list(paths)
        self._handles: list = []
        self._captured: list[_Part] = []
        self._lock = threading.Lock()  # DataParallel runs replicas in threads
        self._ranges: dict[tuple[str, str], tuple[float, float]] = {}
        self._edges: dict[tuple[str, str], np.ndarray] = {}
        self._modules: dict[str, nn.Module] | None = None

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
        modules = self._modules
        for path in self._paths:
            if path in modules:
                self._handles.append(modules[path].register_forward_hook(self._hook(path)))

    def _hook(self, path: str):
        def hook(module, args, output):
            tensor = _first_tensor(output)
            if tensor is None or not tensor.is_floating_point() or tensor.numel() == 0:
                return None
            self._capture(path, "activation", tensor)
            if self.gradients and tensor.requires_grad:
                tensor.register_hook(lambda grad: self._capture(path, "gradient", grad))
            return None

        return hook

    def _capture(self, path: str, kind: str, tensor: torch.Tensor) -> None:
        x = tensor.detach().reshape(-1)
        if x.dtype is not torch.float32:
            x = x.float()  # one dtype for the whole step's stack
        key = (path, kind)
        if key not in self._ranges:
            self._first_range(key, x)
        smallest, largest = torch.aminmax(x)
        summary = (x.sum(), torch.dot(x, x), smallest, largest)
        sample = x[:: max(1, x.numel() // SAMPLE)].clone()
        self._captured.append(_Part(path, kind, x.numel(), summary, sample))  # list.append is atomic

    def _first_range(self, key: tuple[str, str], x: torch.Tensor) -> tuple[float, float]:
        """Fixed for the whole run from the first sample's finite values (one sync, once)."""
        with self._lock:
            if key not in self._ranges:
                finite = x[torch.isfinite(x)]
                low, high = (float(v) for v in torch.aminmax(finite)) if finite.numel() else (-1.0, 1.0)
                span = max(high - low, 1e-6)
                edges = np.linspace(low - RANGE_MARGIN * span, high + RANGE_MARGIN * span, self.bins + 1)
                edges.flags.writeable = False
                self._edges[key] = edges
                self._ranges[key] = (low - RANGE_MARGIN * span, high + RANGE_MARGIN * span)
            return self._ranges[key]

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def collect(self, step: int) -> list[ProbeStats]:
        """Statistics of the sampled step; call after backward so gradients are in."""
        self.detach()
        with self._lock:
            parts, self._captured = self._captured, []
        if not parts:
            return []
        # two copies off the device for the whole step, then numpy over every part at once
        summary = torch.stack([v for p in parts for v in p.summary]).double().cpu().reshape(len(parts), 4).numpy()
        samples = torch.cat([p.sample for p in parts]).cpu().numpy().astype(np.float64)
        keys = list(dict.fromkeys((p.path, p.kind) for p in parts))
        group = np.array([keys.index((p.path, p.kind)) for p in parts])
        sizes = np.array([len(p.sample) for p in parts])
        owner = np.repeat(group, sizes)
        weight = np.repeat(np.array([p.count for p in parts]) / sizes, sizes)  # a sampled value stands for this many
        low = np.array([self._ranges[k][0] for k in keys])
        scale = np.array([self.bins / (self._ranges[k][1] - self._ranges[k][0]) for k in keys])
        position = np.nan_to_num((samples - low[owner]) * scale[owner], nan=0.0, posinf=self.bins - 1, neginf=0.0)
        bins = np.clip(np.floor(position), 0, self.bins - 1).astype(np.int64) + owner * self.bins
        hist = np.bincount(bins, weights=weight, minlength=len(keys) * self.bins).reshape(len(keys), self.bins)
        zeros = np.bincount(owner, weights=weight * (samples == 0), minlength=len(keys))
        counts = np.bincount(group, weights=[p.count for p in parts], minlength=len(keys))
        means = np.bincount(group, weights=summary[:, 0], minlength=len(keys)) / counts
        squares = np.bincount(group, weights=summary[:, 1], minlength=len(keys)) / counts
        stds = np.sqrt(np.maximum(squares - means * means, 0.0) * counts / np.maximum(counts - 1, 1))
        smallest = np.full(len(keys), np.inf)
        largest = np.full(len(keys), -np.inf)
        np.minimum.at(smallest, group, summary[:, 2])
        np.maximum.at(largest, group, summary[:, 3])
        zero_fractions = zeros / counts
        whole = np.rint(hist).astype(np.int64)
        return [
            ProbeStats(path, kind, step, int(counts[i]), float(means[i]), float(stds[i]), float(smallest[i]),
                       float(largest[i]), float(zero_fractions[i]), whole[i], self._edges[(path, kind)])
            for i, (path, kind) in enumerate(keys)
        ]

    def close(self) -> None:
        self.detach()
        with self._lock:
            self._captured.clear()
