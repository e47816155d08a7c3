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

    def __init__(self, model: nn.Module, paths: list[str], every: int = 10, bins: int = DEFAULT_BINS,
                 gradients: bool = False) -> None:
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
        self._modules: dict[str, nn.Module] | None = None
        self._copy = False  # copy at capture time: set where something changes activations in place
        self.missed = 0     # captures lost to an in-place change before ``_copy`` was set

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
        summary, samples = _reduce(h.tensor for h in unchanged)
        parts = [(h.path, h.kind) for h in unchanged]
        counts_per_part = np.array([h.tensor.numel() for h in unchanged], dtype=np.float64)
        keys = list(dict.fromkeys(parts))
        for i, key in enumerate(parts):
            if key not in self._ranges:
                self._set_range(key, summary[i, 2], summary[i, 3], samples[i])
        index = {key: i for i, key in enumerate(keys)}
        group = np.array([index[key] for key in parts])
        sizes = np.array([len(sample) for sample in samples])
        values = np.concatenate(samples)
        owner = np.repeat(group, sizes)
        weight = np.repeat(counts_per_part / sizes, sizes)  # a sampled value stands for this many
        low = np.array([self._ranges[k][0] for k in keys])
        scale = np.array([self.bins / (self._ranges[k][1] - self._ranges[k][0]) for k in keys])
        position = (values - low[owner]) * scale[owner]
        np.clip(position, 0, self.bins - 1, out=position)  # out of range: the end bins; NaN stays NaN
        position[np.isnan(position)] = 0
        bins = position.astype(np.int64) + owner * self.bins
        hist = np.bincount(bins, weights=weight, minlength=len(keys) * self.bins).reshape(len(keys), self.bins)
        zeros = np.bincount(owner, weights=weight * (values == 0), minlength=len(keys))
        counts = np.bincount(group, weights=counts_per_part, minlength=len(keys))
        means = np.bincount(group, weights=summary[:, 0], minlength=len(keys)) / counts
        squares = np.bincount(group, weights=summary[:, 1], minlength=len(keys)) / counts
        stds = np.sqrt(np.maximum(squares - means * means, 0.0) * counts / np.maximum(counts - 1, 1))
        if len(keys) == len(parts):  # one call per module, the usual case
            smallest, largest = summary[:, 2], summary[:, 3]
        else:
            smallest, largest = np.full(len(keys), np.inf), np.full(len(keys), -np.inf)
            np.minimum.at(smallest, group, summary[:, 2])
            np.maximum.at(largest, group, summary[:, 3])
        zero_fractions = zeros / counts
        whole = np.rint(hist).astype(np.int64)
        return [
            ProbeStats(path, kind, step, int(counts[i]), float(means[i]), float(stds[i]), float(smallest[i]),
                       float(largest[i]), float(zero_fractions[i]), whole[i], self._edges[(path, kind)])
            for i, (path, kind) in enumerate(keys)
        ]

    def _set_range(self, key: tuple[str, str], low: float, high: float, sample: np.ndarray) -> None:
        """Fixed for the whole run from the first sample's finite values."""
        if not (math.isfinite(low) and math.isfinite(high)):
            finite = sample[np.isfinite(sample)]
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


def _reduce(tensors) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per tensor: sum, sum of squares, min, max (one row each) and an evenly strided sample.

    CPU tensors are read in place through numpy, which for the small tensors of a step costs a
    fraction of torch's per-op dispatch; tensors on a device are reduced there, and the results
    of all of them come back in two copies.
    """
    rows: list[np.ndarray | None] = []
    samples: list[np.ndarray | None] = []
    on_device: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    for i, tensor in enumerate(tensors):
        x = tensor.reshape(-1)
        if x.dtype is not torch.float32:
            x = x.float()
        stride = max(1, x.numel() // SAMPLE)
        if x.device.type == "cpu":
            values = x.numpy()
            rows.append(np.array([values.sum(), np.vdot(values, values), values.min(), values.max()], np.float64))
            samples.append(values[::stride])
        else:
            smallest, largest = torch.aminmax(x)
            on_device.append((i, torch.stack([x.sum(), torch.dot(x, x), smallest, largest]), x[::stride]))
            rows.append(None)
            samples.append(None)
    if on_device:
        summaries = torch.stack([summary for _, summary, _ in on_device]).double().cpu().numpy()
        copied = torch.cat([sample for _, _, sample in on_device]).cpu().numpy()
        offsets = np.cumsum([0] + [len(sample) for _, _, sample in on_device])
        for j, (i, _, _) in enumerate(on_device):
            rows[i] = summaries[j]
            samples[i] = copied[offsets[j]:offsets[j + 1]]
    return np.stack(rows), samples
