"""LiveCurve: growing data is drawn a few points at a time, and looks as if drawn whole."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage

from widgets.training.live_curve import LiveCurve, _peak_downsample

RED = "#d62728"


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget(background="w")
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.getPlotItem().hideAxis("left")
    widget.getPlotItem().hideAxis("bottom")
    widget.setRange(xRange=(0, 100), yRange=(-1.5, 1.5), padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def add(plot, curve):
    plot.getPlotItem().addItem(curve)
    return curve


def pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format_RGB32)
    data = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return data[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[:, :, :3].astype(int)


def reddish(image: np.ndarray) -> np.ndarray:
    red, green, blue = image[..., 2], image[..., 1], image[..., 0]
    return (red > 150) & (green < 120) & (blue < 120)


def wait_drawn(qtbot, plot, curve, points: int) -> None:
    plot.viewport().update()
    qtbot.waitUntil(lambda: curve._drawn == points)


def test_a_curve_fed_a_few_points_at_a_time_looks_like_one_drawn_whole(plot, qtbot):
    curve = add(plot, LiveCurve(pg.mkPen(RED, width=1.5)))
    x = np.arange(100.0)
    y = np.sin(x / 7)
    for end in range(3, 101, 3):
        curve.setData(x[:end], y[:end], appended=True)
        wait_drawn(qtbot, plot, curve, end)
    curve.setData(x, y, appended=True)
    wait_drawn(qtbot, plot, curve, 100)
    assert curve.redraws == 1  # one whole drawing, then only the new points each time
    grown = pixels(plot)
    curve.setData(x, y)  # not appended: drawn whole again
    qtbot.waitUntil(lambda: curve.redraws >= 2)
    whole = pixels(plot)
    drawn = reddish(whole)
    assert drawn.sum() > 300  # a visible curve
    assert (reddish(grown) != drawn).sum() < 0.05 * drawn.sum()


def test_moving_the_view_draws_the_curve_again_at_its_new_place(plot, qtbot):
    curve = add(plot, LiveCurve(pg.mkPen(RED, width=2)))
    curve.setData(np.array([0.0, 100.0]), np.array([0.0, 0.0]))  # a horizontal line at y = 0
    qtbot.waitUntil(lambda: curve.redraws >= 1)
    rows = np.flatnonzero(reddish(pixels(plot)).any(axis=1))
    drawn = curve.redraws
    plot.setRange(yRange=(-0.5, 2.5), padding=0)  # y = 0 is now near the bottom
    qtbot.waitUntil(lambda: curve.redraws > drawn)
    moved = np.flatnonzero(reddish(pixels(plot)).any(axis=1))
    height = plot.viewport().height()
    assert abs(rows.mean() - height / 2) < 5 and abs(moved.mean() - height * 5 / 6) < 5


def test_a_gap_of_nan_is_not_drawn(plot, qtbot):
    curve = add(plot, LiveCurve(pg.mkPen(RED, width=2)))
    x = np.arange(101.0)
    y = np.where((x > 40) & (x < 60), np.nan, 0.0)
    curve.setData(x, y)
    qtbot.waitUntil(lambda: curve.redraws >= 1)
    columns = reddish(pixels(plot)).any(axis=0)
    width = plot.viewport().width()
    assert columns[int(width * 0.2)] and columns[int(width * 0.8)] and not columns[int(width * 0.5)]


def test_symbols_mark_each_point(plot, qtbot):
    curve = add(plot, LiveCurve(pg.mkPen(RED, width=1), symbol="o", symbol_size=10))
    curve.setData(np.array([20.0, 80.0]), np.array([1.0, -1.0]))
    qtbot.waitUntil(lambda: curve.redraws >= 1)
    image = reddish(pixels(plot))
    width, height = plot.viewport().width(), plot.viewport().height()
    for px, py in ((0.2, 1 / 6), (0.8, 5 / 6)):  # the filled disc around each point
        column, row = int(width * px), int(height * py)
        assert image[row - 2 : row + 3, column - 2 : column + 3].all()


def test_log_mode_draws_log10_of_the_values_and_skips_those_at_or_below_zero(plot, qtbot):
    curve = add(plot, LiveCurve(pg.mkPen(RED)))
    curve.setData(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 10.0, 0.0, 100.0]))
    plot.getPlotItem().setLogMode(y=True)
    assert curve.dataBounds(1) == (0.0, 2.0)
    assert curve.dataBounds(0) == (0.0, 3.0)
    plot.setRange(yRange=(-1, 3), padding=0)
    qtbot.waitUntil(lambda: curve.redraws >= 1)


def test_a_view_of_many_points_is_drawn_from_two_per_pixel_column(plot, qtbot):
    curve = add(plot, LiveCurve(pg.mkPen(RED)))
    x = np.linspace(0, 100, 1_000_000)
    curve.setData(x, np.sin(x))
    qtbot.waitUntil(lambda: curve.redraws >= 1)
    assert 0 < curve.last_redraw_points <= 2 * plot.viewport().width() + 4


def test_peak_downsampling_keeps_every_spike():
    x = np.arange(10_000.0)
    y = np.zeros(10_000)
    y[1234], y[7777] = 5.0, -3.0
    y[5000:5010] = np.nan
    small_x, small_y = _peak_downsample(x, y, columns=100)
    assert len(small_x) <= 220
    assert np.nanmax(small_y) == 5.0 and np.nanmin(small_y) == -3.0
    assert small_x[0] == 0 and np.all(np.diff(small_x) >= 0)


def test_the_legend_draws_the_curves_sample(qtbot, plot):
    legend = plot.getPlotItem().addLegend()
    curve = add(plot, LiveCurve(pg.mkPen(RED, width=2), symbol="o"))
    curve.setData(np.array([10.0, 20.0]), np.array([0.0, 0.5]))
    legend.addItem(curve, "loss")
    qtbot.waitUntil(lambda: curve.redraws >= 1)
    sample, label = legend.items[0]
    image = QImage(20, 20, QImage.Format_RGB32)
    image.fill(QColor("white"))
    from PySide6.QtGui import QPainter

    painter = QPainter(image)
    sample.paint(painter)
    painter.end()
    assert QColor(image.pixel(10, 10)).red() > 150 and QColor(image.pixel(10, 10)).green() < 120
    assert label.text == "loss"
