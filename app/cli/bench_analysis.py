"""Benchmarks that print numbers: meta analysis against a real forward with hooks (torchinfo's way)."""

from __future__ import annotations

import gc
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from app.network.analysis import analyse_spec
from app.network.inputs import InputSpec
from app.network.spec import Node, container, layer

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def measure(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak RSS growth in MB), RSS sampled every ~1 ms in a thread."""
    gc.collect()
    before = _rss()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        result = call()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    peak = max(peak, _rss())
    return result, seconds, (peak - before) / 2**20


def linear_stack(width: int, depth: int) -> Node:
    return container("Sequential", *[layer("Linear", in_features=width, out_features=width) for _ in range(depth)])


def _hooked_forward(width: int, depth: int, batch: int) -> dict[str, list[int]]:
    # What torchinfo does: a real model with real weights, hooks recording shapes, a real input.
    model = nn.Sequential(*[nn.Linear(width, width) for _ in range(depth)])
    shapes: dict[str, list[int]] = {}
    handles = [
        sub.register_forward_hook(lambda m, a, out, path=path: shapes.__setitem__(path, list(out.shape)))
        for path, sub in model.named_modules()
    ]
    try:
        with torch.no_grad():
            model(torch.randn(batch, width))
    finally:
        for handle in handles:
            handle.remove()
    shapes["params"] = sum(p.numel() for p in model.parameters())  # type: ignore[assignment]
    return shapes


def bench_analysis(depth: int = 60, big: int = 4096, small: int = 512, batch: int = 8, rounds: int = 7) -> dict:
    """The meta analysis of a ~1e9-parameter spec against a real forward of a model that fits.

    Both sides include building the model, as a user would pay for it. Each is warmed up once
    (the first meta forward in a process loads torch's meta kernels), then timed. The analysis
    is timed with its FLOP and activation counts and without, alternating, ``rounds`` times each:
    the figures are medians, and ``counts_ratio`` is what the counts cost on top (``counts_ratio_best``:
    the fastest round of each, the least disturbed by other work on the machine).
    """
    spec, inputs = linear_stack(big, depth), [InputSpec([batch, big])]
    analyse_spec(spec, inputs)
    plain_s, counted_s = [], []
    for _ in range(rounds):
        counted_s.append(_seconds(lambda: analyse_spec(spec, inputs, counts=True)))
        plain_s.append(_seconds(lambda: analyse_spec(spec, inputs, counts=False)))
    analysis, analysis_s, analysis_mb = measure(lambda: analyse_spec(spec, inputs))
    if analysis.error is not None:
        raise RuntimeError(str(analysis.error))
    _hooked_forward(small, 2, batch)
    shapes, forward_s, forward_mb = measure(lambda: _hooked_forward(small, depth, batch))
    return {
        "params": analysis.total_params,
        "total_flops": analysis.total_flops,
        "activation_bytes": analysis.activation_bytes,
        "analysis_s": round(analysis_s, 4),
        "analysis_peak_mb": round(analysis_mb, 2),
        "analysis_with_counts_s": round(statistics.median(counted_s), 4),
        "analysis_without_counts_s": round(statistics.median(plain_s), 4),
        "counts_ratio": round(statistics.median(counted_s) / statistics.median(plain_s), 3),
        "counts_ratio_best": round(min(counted_s) / min(plain_s), 3),
        "forward_params": shapes["params"],
        "forward_s": round(forward_s, 4),
        "forward_peak_mb": round(forward_mb, 2),
    }


def _seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


if __name__ == "__main__":
    print(json.dumps(bench_analysis()))
