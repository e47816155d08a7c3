"""Series buffers, the wide CSV table, and a training run's curves from engine events."""

import csv
import math

import numpy as np
import pytest

from app.training.events import Epoch, Step
from app.training.series import Series, SeriesSet, TrainingSeries


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def step(n, loss, lrs=(0.1,), accuracy=None, norms=None, epoch=0):
    return Step(n, epoch, n - 1, loss, accuracy, list(lrs), None if norms is None else list(norms), 100.0, 1.0)


# Series ---------------------------------------------------------------------------------------
def test_append_and_extend_keep_every_point_in_order():
    s = Series(capacity=2)
    s.append(1, 10.0)
    s.extend([2, 3, 4], [20.0, 30.0, 40.0])
    s.append(5, math.nan)
    assert len(s) == 5
    assert s.x.tolist() == [1, 2, 3, 4, 5]
    assert s.y[:4].tolist() == [10.0, 20.0, 30.0, 40.0] and math.isnan(s.y[4])
    assert s.x.dtype == np.float64


def test_capacity_doubles_when_full():
    s = Series(capacity=4)
    capacities = set()
    for i in range(1000):
        s.append(i, i)
        capacities.add(s.capacity)
    assert sorted(capacities) == [4 * 2**k for k in range(9)]  # 4 .. 1024: doubled, never grown by one
    s.extend(np.arange(5000), np.arange(5000))
    assert len(s) == 6000 and s.capacity == 8192


def test_views_are_slices_of_the_buffer_and_survive_growth():
    s = Series(capacity=4)
    s.extend([1, 2], [3, 4])
    before = s.y
    assert before.base is not None  # a view, not a copy
    with pytest.raises(ValueError):
        before[0] = 99  # read-only: the plot's data cannot be changed behind its back
    s.extend(np.arange(100), np.arange(100))
    assert before.tolist() == [3, 4]


def test_clear_empties_and_changes_version():
    s = Series()
    s.extend([1, 2], [3, 4])
    version = s.version
    old = s.x
    s.clear()
    assert len(s) == 0 and s.x.size == 0 and s.version != version
    s.append(7, 7)
    assert old.tolist() == [1, 2]


def test_extend_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="as many x as y"):
        Series().extend([1, 2], [1])


# SeriesSet and CSV ----------------------------------------------------------------------------
def test_csv_is_one_wide_table_by_x_with_blanks_where_a_series_has_no_point(tmp_path):
    table = SeriesSet("step")
    table.add("loss").extend([1, 2, 3], [0.5, 0.25, 0.125])
    table.add("val, loss").append(3, 0.3)  # a comma in a name is quoted
    table.add("norm").extend([2], [math.nan])
    path = tmp_path / "out.csv"
    table.write_csv(path)
    assert read_csv(path) == [
        ["step", "loss", "val, loss", "norm"],
        ["1", "0.5", "", ""],
        ["2", "0.25", "", "nan"],
        ["3", "0.125", "0.3", ""],
    ]


def test_csv_keeps_full_precision_and_every_duplicate_x(tmp_path):
    table = SeriesSet("step")
    table.add("a").extend([5, 1, 5], [0.1, 1 / 3, 2.0])
    table.add("b").extend([5], [7.0])
    table.write_csv(tmp_path / "t.csv")
    rows = read_csv(tmp_path / "t.csv")
    assert rows[1] == ["1", repr(1 / 3), ""]
    assert rows[2:] == [["5", "0.1", "7"], ["5", "2.0", ""]]
    assert float(rows[1][1]) == 1 / 3


def test_empty_set_writes_a_header_only(tmp_path):
    table = SeriesSet("epoch")
    table.add("loss")
    assert table.csv_text() == "epoch,loss\n"


# TrainingSeries -------------------------------------------------------------------------------
def test_steps_and_epochs_fill_the_step_and_epoch_tables():
    run = TrainingSeries()
    run.start(["features", "head"], classification=True)
    run.add_steps(
        [
            step(1, 2.0, (0.1, 0.01), accuracy=0.5, norms=(1.0, 3.0)),
            step(2, 1.5, (0.1, 0.01)),
            step(3, 1.0, (0.05, 0.005), accuracy=0.75, norms=(2.0, 5.0)),
        ]
    )
    run.add_epoch(Epoch(1, 3, 1.5, 0.6, 1.2, 0.7, [0.05, 0.005]))
    s, e = run.by_step, run.by_epoch
    assert s["step loss"].x.tolist() == [1, 2, 3] and s["step loss"].y.tolist() == [2.0, 1.5, 1.0]
    assert s["epoch"].y.tolist() == [1, 1, 1]  # 1-based, as Epoch counts
    assert s["step accuracy"].x.tolist() == [1, 3] and s["step accuracy"].y.tolist() == [0.5, 0.75]
    assert s["lr: head"].y.tolist() == [0.01, 0.01, 0.005]
    assert s["grad norm: features"].x.tolist() == [1, 3] and s["grad norm: head"].y.tolist() == [3.0, 5.0]
    assert s["val loss"].x.tolist() == [3] and s["val loss"].y.tolist() == [1.2]
    assert e["train loss"].x.tolist() == [1] and e["train accuracy"].y.tolist() == [0.6]
    assert e["step"].y.tolist() == [3]
    assert e["lr: features"].y.tolist() == [0.05]
    assert e["grad norm: features"].y.tolist() == [1.5] and e["grad norm: head"].y.tolist() == [4.0]


def test_regression_has_no_accuracy_and_missing_validation_is_no_point():
    run = TrainingSeries()
    run.start(["all"], classification=False)
    run.add_steps([step(1, 1.0, accuracy=0.9)])
    run.add_epoch(Epoch(1, 1, 1.0, None, None, None, [0.1]))
    assert "step accuracy" not in run.by_step and "val accuracy" not in run.by_epoch
    assert len(run.by_step["val loss"]) == 0 and len(run.by_epoch["val loss"]) == 0
    assert len(run.by_epoch["grad norm: all"]) == 0  # no norm measured in that epoch


def test_unknown_and_duplicate_groups_get_unique_labels():
    run = TrainingSeries()
    run.start(["a", "a"], classification=False)
    run.add_steps([step(1, 1.0, lrs=(0.1, 0.2, 0.3))])
    assert run.groups == ["a", "a (2)", "group 2"]
    assert run.by_step["lr: group 2"].y.tolist() == [0.3]


def test_start_forgets_the_previous_run():
    run = TrainingSeries()
    run.start(["a"], classification=False)
    run.add_steps([step(1, 1.0, norms=(1.0,))])
    run.start(["b"], classification=False)
    assert len(run.by_step["step loss"]) == 0 and "lr: a" not in run.by_step
    run.add_epoch(Epoch(1, 1, 1.0, None, None, None, [0.1]))
    assert len(run.by_epoch["grad norm: b"]) == 0  # norms from the old run do not leak


def test_long_run_in_chunks_keeps_every_point():
    run = TrainingSeries()
    run.start(["g0", "g1"], classification=False)
    total, chunk = 50_000, 1_000
    for first in range(1, total + 1, chunk):
        run.add_steps(
            [
                step(i, 1.0 / i, (0.1, 0.2), norms=(1.0, 2.0) if i % 10 == 0 else None)
                for i in range(first, first + chunk)
            ]
        )
    loss = run.by_step["step loss"]
    assert len(loss) == total and loss.x[-1] == total and loss.y[-1] == 1.0 / total
    assert len(run.by_step["grad norm: g1"]) == total // 10
