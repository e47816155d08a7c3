"""Live training plots: what was fed is what the curves show, redraws are minimal, exports work."""

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QFileDialog

from app.training.events import Epoch, Step
from widgets.training.live_plots import LivePlots
from widgets.training.plot_range import unpadded


def step(n, loss, lrs=(0.1, 0.01), accuracy=None, norms=None, epoch=0):
    return Step(n, epoch, n - 1, loss, accuracy, list(lrs), None if norms is None else list(norms), 100.0, 1.0)


def fed_run(plots, classification=True):
    """Two epochs of three steps, two groups; accuracy and norms measured on steps 1 and 3 of each."""
    plots.start(["features", "head"], classification)
    plots.add_steps(
        [
            step(1, 2.0, (0.1, 0.01), accuracy=0.25, norms=(1.0, 3.0)),
            step(2, 1.5, (0.1, 0.01)),
            step(3, 1.0, (0.05, 0.005), accuracy=0.5, norms=(2.0, 5.0)),
        ]
    )
    plots.add_epoch(Epoch(1, 3, 1.5, 0.4, 1.25, 0.45, [0.05, 0.005]))
    plots.add_steps(
        [
            step(4, 0.75, (0.05, 0.005), accuracy=0.75, norms=(0.5, 1.0), epoch=1),
            step(5, 0.5, (0.02, 0.002), epoch=1),
            step(6, 0.25, (0.02, 0.002), accuracy=1.0, norms=(0.5, 2.0), epoch=1),
        ]
    )
    plots.add_epoch(Epoch(2, 6, 0.5, 0.875, 0.625, 0.8, [0.02, 0.002]))


@pytest.fixture
def plots(qtbot):
    widget = LivePlots()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    return widget


def xs(plots, name):
    return plots.points(name)[0].tolist()


def ys(plots, name):
    return plots.points(name)[1].tolist()


def save_as(monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def click(qtbot, plots, name):
    qtbot.mouseClick(plots.findChild(QAbstractButton, name), Qt.LeftButton)


def test_fed_steps_and_epochs_are_on_the_curves_after_refresh(plots):
    fed_run(plots)
    assert xs(plots, "step loss") == []  # feeding does not draw
    plots.refresh()
    assert xs(plots, "step loss") == [1, 2, 3, 4, 5, 6]
    assert ys(plots, "step loss") == [2.0, 1.5, 1.0, 0.75, 0.5, 0.25]
    assert xs(plots, "step accuracy") == [1, 3, 4, 6] and ys(plots, "step accuracy") == [0.25, 0.5, 0.75, 1.0]
    assert ys(plots, "lr: features") == [0.1, 0.1, 0.05, 0.05, 0.02, 0.02]
    assert ys(plots, "lr: head") == [0.01, 0.01, 0.005, 0.005, 0.002, 0.002]
    assert xs(plots, "grad norm: head") == [1, 3, 4, 6] and ys(plots, "grad norm: head") == [3.0, 5.0, 1.0, 2.0]
    # epoch points overlay the step curves at the epoch's last step
    assert xs(plots, "train loss") == [3, 6] and ys(plots, "train loss") == [1.5, 0.5]
    assert xs(plots, "val loss") == [3, 6] and ys(plots, "val loss") == [1.25, 0.625]
    assert ys(plots, "train accuracy") == [0.4, 0.875] and ys(plots, "val accuracy") == [0.45, 0.8]
    assert plots.legend_names("loss") == ["step loss", "train loss", "val loss"]
    assert plots.legend_names("lr") == ["lr: features", "lr: head"]


def test_refresh_redraws_only_the_curves_that_changed(plots, monkeypatch):
    plots.start(["a", "b"], classification=True)
    plots.add_steps([step(1, 1.0, norms=(1.0, 1.0), accuracy=0.5)])
    plots.refresh()
    calls = []
    for name in (
        "step loss",
        "step accuracy",
        "train loss",
        "val loss",
        "train accuracy",
        "val accuracy",
        "lr: a",
        "lr: b",
        "grad norm: a",
        "grad norm: b",
    ):
        curve = plots.curve(name)
        monkeypatch.setattr(
            curve, "setData", lambda *a, _n=name, _f=curve.setData, **k: (calls.append(_n), _f(*a, **k))
        )

    plots.refresh()
    assert calls == []  # nothing new, nothing redrawn
    plots.add_steps([step(2, 0.5), step(3, 0.4)])  # no accuracy, no norms
    plots.refresh()
    assert sorted(calls) == ["lr: a", "lr: b", "step loss"]
    calls.clear()
    plots.add_epoch(Epoch(1, 3, 0.6, 0.5, 0.7, None, [0.1, 0.01]))
    plots.refresh()
    assert sorted(calls) == ["train accuracy", "train loss", "val loss"]
    assert xs(plots, "step loss") == [1, 2, 3]


def test_log_scale_switches_loss_and_grad_norm_to_log_y(plots, qtbot):
    fed_run(plots)
    plots.refresh()
    check = plots.findChild(QCheckBox, "logScaleCheck")
    assert not plots.plot("loss").getPlotItem().getAxis("left").logMode
    check.setChecked(True)
    assert plots.plot("loss").getPlotItem().getAxis("left").logMode
    assert plots.plot("grad norm").getPlotItem().getAxis("left").logMode
    assert not plots.plot("lr").getPlotItem().getAxis("left").logMode
    assert ys(plots, "step loss")[0] == 2.0  # the data stays; only the axis is logarithmic
    check.setChecked(False)
    assert not plots.plot("loss").getPlotItem().getAxis("left").logMode


def test_by_epoch_shows_one_point_per_epoch_at_the_epoch_number(plots):
    fed_run(plots)
    plots.refresh()
    plots.findChild(QComboBox, "xAxisCombo").setCurrentIndex(1)
    assert plots.x_axis == "epoch"
    assert xs(plots, "train loss") == [1, 2] and ys(plots, "train loss") == [1.5, 0.5]
    assert xs(plots, "val accuracy") == [1, 2] and ys(plots, "val accuracy") == [0.45, 0.8]
    assert ys(plots, "lr: features") == [0.05, 0.02]  # Epoch.lrs
    assert ys(plots, "grad norm: features") == [1.5, 0.5]  # the mean of the norms measured in each epoch
    assert xs(plots, "step loss") == [] and not plots.curve("step loss").isVisible()
    assert "step loss" not in plots.legend_names("loss")
    assert plots.plot("loss").getPlotItem().getAxis("bottom").labelText == "epoch"
    x_values = {key: plots.plot(key).getPlotItem().getAxis("bottom").style["showValues"] for key in ("loss", "lr")}
    assert x_values == {"loss": False, "lr": True}  # x values once per column, under its bottom plot
    plots.set_x_axis("step")
    assert xs(plots, "train loss") == [3, 6] and len(xs(plots, "step loss")) == 6


def test_export_csv_writes_the_fed_values_as_a_table_by_step(plots, qtbot, monkeypatch, tmp_path):
    fed_run(plots)
    plots.refresh()
    save_as(monkeypatch, tmp_path / "run.csv")
    click(qtbot, plots, "exportCsvButton")
    with open(tmp_path / "run.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "step",
        "epoch",
        "step loss",
        "train loss",
        "val loss",
        "step accuracy",
        "train accuracy",
        "val accuracy",
        "lr: features",
        "lr: head",
        "grad norm: features",
        "grad norm: head",
    ]
    assert [r["step"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [float(r["step loss"]) for r in rows] == [2.0, 1.5, 1.0, 0.75, 0.5, 0.25]
    assert [r["epoch"] for r in rows] == ["1", "1", "1", "2", "2", "2"]
    assert [r["grad norm: head"] and float(r["grad norm: head"]) for r in rows] == [3.0, "", 5.0, 1.0, "", 2.0]
    assert [r["val loss"] for r in rows] == ["", "", "1.25", "", "", "0.625"]
    assert [float(r["lr: head"]) for r in rows] == [0.01, 0.01, 0.005, 0.005, 0.002, 0.002]


def test_export_csv_by_epoch_writes_one_row_per_epoch(plots, qtbot, monkeypatch, tmp_path):
    fed_run(plots, classification=False)
    plots.set_x_axis("epoch")
    save_as(monkeypatch, tmp_path / "epochs")  # no suffix: .csv is added
    click(qtbot, plots, "exportCsvButton")
    with open(tmp_path / "epochs.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        [
            "epoch",
            "step",
            "train loss",
            "val loss",
            "lr: features",
            "lr: head",
            "grad norm: features",
            "grad norm: head",
        ],
        ["1", "3", "1.5", "1.25", "0.05", "0.005", "1.5", "4.0"],
        ["2", "6", "0.5", "0.625", "0.02", "0.002", "0.5", "1.5"],
    ]


def test_cancelled_export_writes_nothing(plots, qtbot, tmp_path, no_modal_dialogs):
    fed_run(plots)
    click(qtbot, plots, "exportCsvButton")
    click(qtbot, plots, "exportPngButton")
    assert len(no_modal_dialogs) == 2
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".csv", ".png")]


def test_export_png_writes_an_image_of_the_plots(plots, qtbot, monkeypatch, tmp_path):
    fed_run(plots)
    plots.refresh()
    save_as(monkeypatch, tmp_path / "plots.png")
    click(qtbot, plots, "exportPngButton")
    data = (tmp_path / "plots.png").read_bytes()
    assert data.startswith(b"\x89PNG")
    image = QImage(str(tmp_path / "plots.png"))
    assert image.width() > 300 and image.height() > 200


def test_start_clears_the_previous_run(plots):
    fed_run(plots)
    plots.refresh()
    plots.start(["all"], classification=False)
    assert xs(plots, "step loss") == [] and xs(plots, "train loss") == []
    with pytest.raises(KeyError):
        plots.curve("lr: features")
    assert plots.plot("accuracy").isHidden() and not plots.plot("loss").isHidden()
    with pytest.raises(KeyError):
        plots.curve("step accuracy")
    plots.add_steps([step(1, 3.0, lrs=(0.5,))])
    plots.refresh()
    assert xs(plots, "step loss") == [1] and ys(plots, "lr: all") == [0.5]
    assert plots.legend_names("loss") == ["step loss"]  # no validation: no "val loss" in the legend


def test_views_follow_the_data_until_the_user_zooms_and_fit_brings_them_back(plots, qtbot):
    fed_run(plots)
    plots.refresh()
    loss = plots.plot("loss").getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = loss.viewRange()
    assert x0 <= 1 and x1 >= 6 and y0 <= 0.25 and y1 >= 2.0  # every step and loss in view
    loss.setXRange(2, 4, padding=0)
    loss.sigRangeChangedManually.emit([True, False])  # as a wheel zoom reports it
    assert plots.plot("lr").getPlotItem().getViewBox().viewRange()[0] == pytest.approx([2, 4], abs=0.2)
    plots.add_steps([step(n, 0.1, epoch=2) for n in range(7, 40)])
    plots.refresh()
    assert loss.viewRange()[0] == pytest.approx([2, 4])  # the user's zoom stays
    click(qtbot, plots, "fitButton")
    x0, x1 = loss.viewRange()[0]
    assert x0 <= 1 and x1 >= 39


def test_the_view_moves_rarely_as_a_run_grows(plots):
    """Each move redraws the axes, the costly part of a frame: not once per refresh."""
    plots.start(["default"], classification=False)
    for n in range(1, 2001):
        plots.add_steps([step(n, 2.0 / n**0.5, lrs=(0.01,))])
        if n % 5 == 0:
            plots.refresh()
    moves = plots._ranges["loss"].moves
    assert 0 < moves < 40  # 400 refreshes
    x0, x1 = plots.plot("loss").getPlotItem().getViewBox().viewRange()[0]
    assert x0 <= 1 and x1 >= 2000


def test_a_run_of_known_length_grows_x_in_a_few_moves_up_to_its_end(plots):
    plots.start(["default"], classification=True, steps=600, epochs=3)
    x_view = plots.plot("loss").getPlotItem().getViewBox()
    x_ranges = []
    for n in range(1, 601):
        plots.add_steps([step(n, 2.0 / n**0.5, lrs=(0.01,), accuracy=min(n / 500, 1.0) if n % 10 == 0 else None)])
        if n % 5 == 0:
            plots.refresh()
            x_ranges.append(tuple(round(v, 6) for v in unpadded(*x_view.viewRange()[0])))
    moves = sorted(set(x_ranges), key=x_ranges.index)
    assert 2 <= len(moves) <= 4  # of 120 refreshes
    assert all(later[1] > earlier[1] for earlier, later in zip(moves, moves[1:]))  # x only grows ...
    assert moves[-1] == (1, 600)  # ... up to the run's last step, not past it
    low, high = plots.plot("accuracy").getPlotItem().getViewBox().viewRange()[1]
    assert low <= 0 and high >= 1  # accuracy on its whole scale
    assert plots._ranges["accuracy"].moves == 1
    plots.set_x_axis("epoch")
    plots.add_epoch(Epoch(1, 200, 1.0, 0.5, 1.1, 0.4, [0.01]))
    plots.refresh()
    assert unpadded(*x_view.viewRange()[0]) == pytest.approx([1, 3])  # by epoch: the epochs to come
    x0, x1 = x_view.viewRange()[0]
    assert x0 < 1 - 0.02 and x1 > 3 + 0.02  # room for the first and last epochs' markers


def test_a_long_run_keeps_every_point_and_draws_only_what_the_view_can_show(plots, qtbot):
    plots.show()
    qtbot.waitExposed(plots)
    plots.start(["a", "b"], classification=True)
    total, chunk = 200_000, 2_000
    for first in range(1, total + 1, chunk):
        plots.add_steps(
            [step(i, 1.0 / i, norms=(1.0, 2.0) if i % 10 == 0 else None) for i in range(first, first + chunk)]
        )
        if first % 20_000 == 1:
            plots.refresh()
    plots.refresh()
    x, y = plots.points("step loss")
    assert len(x) == total and x[-1] == total and y[-1] == 1.0 / total
    assert len(plots.history.by_step["step loss"]) == total
    assert len(plots.points("grad norm: b")[0]) == total // 10
    loss = plots.curve("step loss")
    redraws = loss.redraws
    qtbot.waitUntil(lambda: loss.redraws > redraws)  # the view moved to the new data: drawn again ...
    columns = plots.plot("loss").width()
    assert 0 < loss.last_redraw_points <= 2 * columns + 2  # ... peak-downsampled to the plot's pixel columns
    redraws = loss.redraws
    plots.plot("loss").getPlotItem().setXRange(1000, 1100, padding=0)
    qtbot.waitUntil(lambda: loss.redraws > redraws)
    assert loss.last_redraw_points <= 103  # zoomed in: only the points in view (and one each side)


def test_a_constant_learning_rate_is_drawn_against_zero_not_filling_the_plot(plots, qtbot):
    plots.show()
    qtbot.waitExposed(plots)
    plots.start(["default"], classification=False)
    plots.add_steps([step(n, 1.0 / n, lrs=(0.01,)) for n in range(1, 50)])
    plots.refresh()
    qtbot.waitUntil(lambda: plots.plot("lr").getPlotItem().getViewBox().viewRange()[1][1] < 0.1)
    low, high = plots.plot("lr").getPlotItem().getViewBox().viewRange()[1]
    assert low <= 0 < 0.01 < high < 0.02


def test_a_growing_run_adds_points_to_its_curves_without_drawing_them_whole_again(plots, qtbot):
    plots.show()
    qtbot.waitExposed(plots)
    plots.start(["default"], classification=False, steps=3000, epochs=1)
    loss = plots.curve("step loss")
    for n in range(1, 2001):
        plots.add_steps([step(n, 2.0 / n**0.5, lrs=(0.01,))])
        if n % 20 == 0:
            plots.refresh()
            qtbot.waitUntil(lambda n=n: loss._drawn == n)  # each refresh's points reach the screen
    assert loss.redraws <= 8  # 100 refreshes: the few whole drawings are the view's few moves


def test_a_series_that_starts_over_is_drawn_whole_not_added_to(plots, qtbot):
    plots.show()
    qtbot.waitExposed(plots)
    plots.start(["default"], classification=False, steps=100, epochs=1)
    plots.add_steps([step(n, 1.0, lrs=(0.01,)) for n in range(1, 11)])
    plots.refresh()
    loss = plots.curve("step loss")
    qtbot.waitUntil(lambda: loss._drawn == 10)
    redraws = loss.redraws
    series = plots.history.by_step["step loss"]
    series.clear()
    series.extend(range(1, 21), [0.5] * 20)  # more points than before, none of them the old ones
    plots.refresh()
    qtbot.waitUntil(lambda: loss.redraws > redraws)
    assert loss._drawn == 20


def test_a_loss_falling_by_more_than_two_decades_turns_log_scale_on_until_the_user_chooses(plots, qtbot):
    plots.show()
    qtbot.waitExposed(plots)
    axis = plots.plot("loss").getPlotItem().getAxis("left")
    plots.start(["default"], classification=False, steps=400, epochs=1)
    plots.add_steps([step(n, 2.0 / n, lrs=(0.01,)) for n in range(1, 100)])  # 2.0 .. 0.02: two decades
    plots.refresh()
    assert not axis.logMode
    plots.add_steps([step(n, 2.0 / n, lrs=(0.01,)) for n in range(100, 400)])  # .. 0.005: more than two
    plots.refresh()
    assert axis.logMode and plots.log_check.isChecked()
    low, high = plots.plot("loss").getPlotItem().getViewBox().viewRange()[1]  # log10 units
    assert low <= np.log10(2.0 / 399) and high >= np.log10(2.0)  # the whole fall in view
    plots.log_check.click()  # the user clears it (clicked, as a mouse click gives): their choice wins
    assert not axis.logMode
    plots.start(["default"], classification=False)
    plots.add_steps([step(n, 2.0 / n, lrs=(0.01,)) for n in range(1, 400)])
    plots.refresh()
    assert not axis.logMode


def test_legends_sit_beside_the_data_never_on_it(plots, qtbot):
    plots.show()
    qtbot.waitExposed(plots)
    fed_run(plots)
    plots.refresh()
    for key in ("loss", "accuracy", "lr", "grad norm"):
        item = plots.plot(key).getPlotItem()
        assert plots.legend_names(key)
        legend = item.legend.mapRectToScene(item.legend.boundingRect())
        data = item.getViewBox().mapRectToScene(item.getViewBox().boundingRect())
        assert legend.height() > 0 and not legend.intersects(data), key
