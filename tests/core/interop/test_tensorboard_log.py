"""TensorBoard event files from engine events, read back with TensorBoard's own reader."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from app.errors import NNStudioError
from app.interop.tensorboard_log import INSTALL_HINT, TensorBoardLog
from app.project.project_file import parse_project
from app.training.engine import Engine
from app.training.events import Epoch, Finished, ProbeSnapshot, Started, Step
from app.training.prepare import prepare
from app.training.probes import ProbeSet, ProbeStats

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def read(log_dir) -> event_accumulator.EventAccumulator:
    accumulator = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def small_run_project():
    network = {
        "type": "Sequential",
        "children": [
            {"type": "Linear", "args": {"in_features": 2, "out_features": 16}},
            {"type": "ReLU"},
            {"type": "Linear", "args": {"in_features": 16, "out_features": 2}},
        ],
    }
    return parse_project(
        {
            "format": "nnstudio-project",
            "version": 2,
            "inputs": [{"shape": [1, 2]}],
            "network": network,
            "training": {
                "dataset": {"name": "spirals", "size": 200, "classes": 2},
                "loss": {"type": "CrossEntropyLoss"},
                "epochs": 2,
                "batch_size": 32,
            },
            "optimizer": {"type": "SGD", "defaults": {"lr": 0.1}, "groups": [{"select": "2", "lr": 0.05}]},
        }
    )


def test_a_short_run_writes_step_epoch_and_probe_summaries(tmp_path):
    setup = prepare(small_run_project())
    probes = ProbeSet(setup.core, ["1"], every=2)
    events = []
    with TensorBoardLog(tmp_path / "tb") as board:
        for event in Engine(setup, probes=probes).run():
            board.handle(event)
            events.append(event)
    steps = [e for e in events if isinstance(e, Step)]
    snapshots = [e for e in events if isinstance(e, ProbeSnapshot)]
    assert isinstance(events[-1], Finished) and snapshots

    logged = read(tmp_path / "tb")
    tags = logged.Tags()
    assert {
        "train/loss",
        "train/accuracy",
        "train/samples_per_s",
        "lr/2",
        "lr/default",
        "grad_norm/2",
        "grad_norm/default",
        "epoch/train_loss",
        "epoch/train_accuracy",
        "epoch/val_loss",
        "epoch/val_accuracy",
        "probes/1/activation_zero_fraction",
    } <= set(tags["scalars"])
    assert tags["histograms"] == ["probes/1/activation"]
    loss = logged.Scalars("train/loss")
    assert [s.step for s in loss] == [e.step for e in steps]
    assert [s.value for s in loss] == pytest.approx([e.loss for e in steps], rel=1e-6)
    assert {round(s.value, 6) for s in logged.Scalars("lr/2")} == {0.05}
    assert [s.step for s in logged.Scalars("epoch/val_loss")] == [e.step for e in events if isinstance(e, Epoch)]

    histograms = logged.Histograms("probes/1/activation")
    assert [h.step for h in histograms] == [s.step for s in snapshots]
    first, stats = histograms[0].histogram_value, snapshots[0].stats[0]
    assert first.num == stats.count and first.min == pytest.approx(stats.min) and first.max == pytest.approx(stats.max)
    assert sum(first.bucket) == pytest.approx(stats.hist.sum())


def test_synthetic_events_map_to_tags_per_group(tmp_path):
    stats = ProbeStats(
        "block.0",
        "gradient",
        4,
        6,
        0.5,
        0.2,
        float("-inf"),
        2.0,
        0.5,
        np.array([1, 2, 3]),
        np.array([-1.0, 0.0, 1.0, 2.0]),
    )
    with TensorBoardLog(tmp_path) as board:
        board.handle(Started(1, 4, 0, 0, "cpu", ["features & type Conv2d", "*.bias", "default"], 128))
        board.handle(Step(1, 0, 0, 0.9, None, [0.1, 0.2, 0.3], [1.0, 2.0, 3.0], 64.0, 1.0))
        board.handle(Step(2, 0, 1, 0.8, None, [0.1, 0.2, 0.3], None, 64.0, 2.0))
        board.handle(Step(3, 0, 2, 0.7, None, [0.05, 0.2, 0.3], None, 64.0, 3.0))
        board.handle(ProbeSnapshot(4, [stats]))
        board.handle(Epoch(0, 4, 0.8, None, None, None, [0.05, 0.2, 0.3]))
    logged = read(tmp_path)
    scalars = set(logged.Tags()["scalars"])
    assert {"lr/features_type_Conv2d", "lr/.bias", "lr/default", "grad_norm/.bias"} <= scalars
    assert "train/accuracy" not in scalars and "epoch/val_loss" not in scalars
    assert [s.step for s in logged.Scalars("lr/features_type_Conv2d")] == [1, 3]  # measured, then changed
    assert [s.step for s in logged.Scalars("train/samples_per_s")] == [1]
    (histogram,) = logged.Histograms("probes/block.0/gradient")
    assert histogram.histogram_value.min == -1.0  # the first edge stands in for a non-finite minimum
    assert list(histogram.histogram_value.bucket) == [1, 2, 3]


def test_closing_twice_and_events_after_close_are_harmless(tmp_path):
    board = TensorBoardLog(tmp_path)
    board.close()
    board.handle(Step(1, 0, 0, 0.5, None, [0.1], None, 1.0, 1.0))
    board.close()


def test_the_missing_tensorboard_extra_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(NNStudioError) as caught:
        TensorBoardLog(tmp_path / "tb")
    assert INSTALL_HINT in caught.value.message and caught.value.where == "tensorboard"
    assert not (tmp_path / "tb").exists()


def test_a_log_dir_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(NNStudioError, match="cannot write TensorBoard logs there"):
        TensorBoardLog(tmp_path / "file" / "tb")
