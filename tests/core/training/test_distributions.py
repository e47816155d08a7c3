"""Percentile bands from fixed-bin histograms, and the per-probe history kept over a run."""

import numpy as np
import pytest

from app.training.distributions import (
    BANDS,
    ProbeHistory,
    envelope,
    is_relu_like,
    percentiles_from_histogram,
    reduce_blocks,
)
from app.training.events import ProbeSnapshot
from app.training.probes import ProbeStats


def stats(path: str, step: int, hist, edges, kind: str = "activation", **values) -> ProbeStats:
    hist = np.asarray(hist, dtype=np.int64)
    defaults = dict(
        count=int(hist.sum()), mean=0.0, std=1.0, min=float(edges[0]), max=float(edges[-1]), zero_fraction=0.0
    )
    defaults.update(values)
    return ProbeStats(path, kind, step, hist=hist, edges=np.asarray(edges, dtype=np.float64), **defaults)


def test_uniform_counts_give_linear_quantiles():
    edges = np.linspace(-2.0, 2.0, 11)
    result = percentiles_from_histogram(np.full(10, 7), edges, [0, 10, 25, 50, 75, 90, 100])
    np.testing.assert_allclose(result, [-2.0, -1.6, -1.0, 0.0, 1.0, 1.6, 2.0])


def test_a_single_bin_interpolates_inside_it():
    result = percentiles_from_histogram([5], [1.0, 3.0], [0, 50, 100])
    np.testing.assert_allclose(result, [1.0, 2.0, 3.0])


def test_empty_bins_at_the_ends_are_skipped():
    # everything in the middle bin [1, 2): min and max are its edges, not the histogram's range
    result = percentiles_from_histogram([0, 4, 0], [0.0, 1.0, 2.0, 3.0], [0, 50, 100])
    np.testing.assert_allclose(result, [1.0, 1.5, 2.0])


def test_an_empty_histogram_has_no_percentiles():
    result = percentiles_from_histogram(np.zeros(4), np.linspace(0, 1, 5), BANDS)
    assert result.shape == (len(BANDS),)
    assert np.isnan(result).all()


def test_bands_are_monotone_for_any_histogram():
    rng = np.random.default_rng(0)
    edges = np.linspace(-3, 5, 33)
    for _ in range(200):
        hist = rng.integers(0, 5, 32) * (rng.random(32) < 0.5)
        if hist.sum() == 0:
            continue
        bands = percentiles_from_histogram(hist, edges, BANDS)
        assert np.all(np.diff(bands) >= 0)
        assert edges[0] <= bands[0] and bands[-1] <= edges[-1]


def test_percentiles_match_numpy_on_a_fine_histogram():
    values = np.random.default_rng(1).normal(size=20_000)
    hist, edges = np.histogram(values, bins=400)
    result = percentiles_from_histogram(hist, edges, [16, 50, 84])
    np.testing.assert_allclose(result, np.percentile(values, [16, 50, 84]), atol=0.02)


def test_mismatched_edges_are_refused():
    with pytest.raises(ValueError):
        percentiles_from_histogram([1, 2], [0.0, 1.0], [50])


def test_relu_like_layers():
    assert all(is_relu_like(name) for name in ("ReLU", "ReLU6", "Hardswish"))
    assert not any(is_relu_like(name) for name in ("LeakyReLU", "GELU", "Linear", "Tanh", "Threshold", ""))


def test_history_keeps_a_row_per_snapshot_per_probe():
    history = ProbeHistory()
    edges = np.linspace(-1, 1, 9)
    for step in range(10, 1010, 10):  # past the initial buffer size: the buffers grow
        history.add(
            ProbeSnapshot(
                step,
                [
                    stats("fc", step, np.arange(8), edges, mean=step / 10, zero_fraction=0.25),
                    stats("fc", step, np.ones(8), edges, kind="gradient"),
                ],
            )
        )
    series = history.series("fc")
    assert series.size == 100
    np.testing.assert_array_equal(series.steps, np.arange(10, 1010, 10))
    np.testing.assert_array_equal(series.column("mean"), np.arange(1, 101))
    assert series.bands.shape == (100, len(BANDS))
    np.testing.assert_array_equal(series.hist, np.arange(8))
    assert history.paths() == ["fc"]
    assert history.kinds("fc") == ["activation", "gradient"]
    assert history.series("fc", "gradient").size == 100
    assert history.last_step("fc") == 1000 and history.latest_step == 1000


def test_outer_bands_are_the_measured_min_and_max():
    history = ProbeHistory()
    edges = np.linspace(0, 4, 5)
    # values beyond the fixed range sit in the end bins; min and max say where they really are
    history.add(ProbeSnapshot(1, [stats("relu", 1, [2, 2, 2, 2], edges, min=-3.0, max=2.5)]))
    bands = history.series("relu").bands[0]
    assert bands[0] == -3.0 and bands[-1] == 2.5
    assert np.all(np.diff(bands) >= 0)


def test_a_module_dropped_from_snapshots_keeps_its_history():
    history = ProbeHistory()
    edges = np.linspace(0, 1, 3)
    history.add(ProbeSnapshot(10, [stats("a", 10, [1, 1], edges), stats("b", 10, [1, 1], edges)]))
    seen = history.add(ProbeSnapshot(20, [stats("a", 20, [1, 1], edges)]))
    assert seen == {"a"}
    assert history.last_step("b") == 10 and history.series("b").size == 1
    history.clear()
    assert history.paths() == [] and history.latest_step is None


def test_envelope_keeps_spikes_and_leaves_short_histories_alone():
    steps = np.arange(10.0)
    bands = np.tile([-1.0, 0.0, 1.0], (10, 1))
    same_steps, same_bands = envelope(steps, bands, (0, 50, 100), max_points=10)
    assert same_steps is steps and same_bands is bands
    bands[3] = [-9.0, 0.5, 9.0]
    small_steps, small = envelope(steps, bands, (0, 50, 100), max_points=5)
    np.testing.assert_array_equal(small_steps, [0, 2, 4, 6, 8])
    assert small[1, 0] == -9.0 and small[1, 2] == 9.0 and small[1, 1] == 0.25
    np.testing.assert_array_equal(reduce_blocks(np.arange(5.0), 2, "mean"), [0.5, 2.5, 4.0])


def test_a_stack_of_histograms_gives_a_row_of_percentiles_each():
    rng = np.random.default_rng(2)
    edges = np.linspace(-1, 1, 17)
    hists = rng.integers(0, 9, (50, 16))
    hists[7] = 0
    stacked = percentiles_from_histogram(hists, edges, BANDS)
    assert stacked.shape == (50, len(BANDS))
    for row, hist in zip(stacked, hists):
        np.testing.assert_array_equal(row, percentiles_from_histogram(hist, edges, BANDS))
    assert np.isnan(stacked[7]).all()


def test_long_histories_are_the_same_whenever_they_are_read():
    edges = np.linspace(-1, 1, 9)
    rng = np.random.default_rng(3)
    snapshots = [
        ProbeSnapshot(step, [stats("fc", step, rng.integers(0, 20, 8), edges, min=-0.9, max=0.9)])
        for step in range(1, 701)
    ]
    read_often, read_once = ProbeHistory(), ProbeHistory()
    for snapshot in snapshots:
        read_often.add(snapshot)
        read_once.add(snapshot)
        if snapshot.step % 97 == 0:
            read_often.series("fc").bands  # noqa: B018 - reading makes the queued rows
    np.testing.assert_array_equal(read_often.series("fc").bands, read_once.series("fc").bands)
    np.testing.assert_array_equal(read_once.series("fc").steps, np.arange(1, 701))
    assert read_once.series("fc").size == 700
