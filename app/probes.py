"""Read-only probes: forward hooks (and activation-gradient hooks) that reduce what flows through
chosen modules to small statistics, every N steps.

Hooks are attached only for the steps that are sampled and removed right after, so the steps in
between run with no hook at all. Each activation is reduced on its own device to a handful of
numbers (count, sum, sum of squares, min, max, zeros, a fixed-bin histogram); partial results from
several calls in one step (DataParallel replicas, a module used twice) are added together, so the
statistics are those of the whole batch. Hooks return None: they never change a value or a gradient.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

DEFAULT_BINS = 32


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
    hist: np.ndarray   # counts per bin
    edges: np.ndarray  # bins + 1 edges; values outside fall in the end bins


class _Accumulator:
    """Partial reductions of one module's tensors during one sampled step."""

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self.parts: list[torch.Tensor] = []
        self.range: tuple[torch.Tensor, torch.Tensor] | None = None
        self.lock = threading.Lock()  # DataParallel runs replicas in threads

    def add(self, tensor: torch.Tensor) -> None:
        x = tensor.detach().reshape(-1).float()
        if x.numel() == 0:
            return
        with self.lock:
            if self.range is None:
                self.range = _histogram_range(x)
            low, high = (r.to(x.device) for r in self.range)
        summary = torch.stack([
            torch.tensor(float(x.numel()), device=x.device), x.sum(), (x * x).sum(),
            x.min(), x.max(), (x == 0).sum().float(),
        ])
        width = (high - low) / self.bins
        # inf and NaN (a run about to stop as non-finite) go to the end bins, not into bincount
        position = torch.nan_to_num((x - low) / width, nan=0.0, posinf=self.bins - 1, neginf=0.0)
        index = position.floor().clamp_(0, self.bins - 1).long()
        hist = torch.bincount(index, minlength=self.bins).float()
        with self.lock:
            self.parts.append(torch.cat([summary, hist]))

    def collect(self, path: str, kind: str, step: int) -> ProbeStats | None:
        with self.lock:
            parts, self.parts = self.parts, []
        if not parts:
            return None
        rows = torch.stack([p.to("cpu") for p in parts]).double()
        count, total, squares = rows[:, 0].sum(), rows[:, 1].sum(), rows[:, 2].sum()
        mean = total / count
        variance = (squares / count - mean * mean).clamp(min=0) * count / max(count - 1, 1)
        low, high = (float(r) for r in self.range)
        return ProbeStats(
            path, kind, step, int(count), float(mean), float(variance.sqrt()),
            float(rows[:, 3].min()), float(rows[:, 4].max()), float(rows[:, 5].sum() / count),
            rows[:, 6:].sum(0).numpy().astype(np.int64), np.linspace(low, high, self.bins + 1),
        )


def _histogram_range(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed for the whole run from the first sample's finite values, with room either side."""
    finite = x[torch.isfinite(x)]
    if finite.numel() == 0:
        finite = torch.zeros(1, device=x.device)
    low, high = finite.min().detach().cpu(), finite.max().detach().cpu()
    span = (high - low).clamp(min=1e-6)
    return low - 0.25 * span, high + 0.25 * span


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
        self._activations: dict[str, _Accumulator] = {}
        self._gradients: dict[str, _Accumulator] = {}

    @property
    def paths(self) -> list[str]:
        return list(self._paths)

    def set_paths(self, paths: list[str]) -> None:
        self._paths = list(paths)  # one assignment: safe to call from the GUI thread; used from the next sample

    def is_sampled(self, step: int) -> bool:
        return bool(self._paths) and step % self.every == 0

    def attach(self) -> None:
        modules = dict(self.model.named_modules())
        for path in self._paths:
            module = modules.get(path)
            if module is None:
                continue
            self._activations.setdefault(path, _Accumulator(self.bins))
            if self.gradients:
                self._gradients.setdefault(path, _Accumulator(self.bins))
            self._handles.append(module.register_forward_hook(self._hook(path)))

    def _hook(self, path: str):
        def hook(module, args, output):
            tensor = _first_tensor(output)
            if tensor is None or not tensor.is_floating_point():
                return None
            self._activations[path].add(tensor)
            if self.gradients and tensor.requires_grad:
                tensor.register_hook(lambda grad: self._gradients[path].add(grad) and None)
            return None

        return hook

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def collect(self, step: int) -> list[ProbeStats]:
        """Statistics of the sampled step; call after backward so gradients are in."""
        self.detach()
        stats = [acc.collect(path, "activation", step) for path, acc in self._activations.items()]
        stats += [acc.collect(path, "gradient", step) for path, acc in self._gradients.items()]
        return [s for s in stats if s is not None]

    def close(self) -> None:
        self.detach()
