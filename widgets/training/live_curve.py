"""A plot curve for data that only grows: new points are drawn onto a cached image.

pyqtgraph's PlotDataItem turns the whole visible curve into a path and strokes it again on every
frame, for every curve in a plot that has to be repainted: for four live training plots that is
most of the GUI thread's time (about 12 ms a frame). A :class:`LiveCurve` keeps what it drew as
an image of its view. While the view stays where it is (see widgets.training.plot_range, it rarely moves),
a frame only draws the segments from the last drawn point to the new ones and copies the image.
When the view moves, is resized or changes its log mode, the image is drawn again from the data
in the view, peak-downsampled to about two points per pixel column, as pyqtgraph's "peak" method.

The curve needs x to grow (steps, epochs): the part in view is found by bisection.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.ScatterPlotItem import drawSymbol
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QTransform

POINTS_PER_COLUMN = 2  # beyond this many points per pixel column, a redraw downsamples
FEW = 64  # up to this many points are drawn as polylines; more as one path built by numpy


class LiveCurve(pg.GraphicsObject):
    """``setData(x, y, appended=True)`` says the new data is the old data with points added."""

    def __init__(self, pen, symbol: str | None = None, symbol_size: float = 6, antialias: bool = True) -> None:
        super().__init__()
        pen = pg.mkPen(pen)
        # the keys pyqtgraph's legend reads to draw the curve's sample
        self.opts = {
            "pen": pen,
            "antialias": antialias,
            "symbol": symbol,
            "size": symbol_size,
            "brush": pg.mkBrush(pen.color()),
        }
        self._x = self._y = np.empty(0)
        self._log_y = False
        self._image: QImage | None = None
        self._image_key: tuple | None = None
        self._drawn = 0  # points already on the image
        self.redraws = 0  # whole images drawn (a moved view, new data, a new style)
        self.last_redraw_points = 0  # points the last whole image was drawn from, after downsampling

    # Data and style ----------------------------------------------------------------------------
    def setData(self, x: np.ndarray, y: np.ndarray, appended: bool = False) -> None:
        grown = appended and len(x) >= self._drawn
        self._x, self._y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if not grown:
            self._invalidate()
        self.update()

    def getOriginalDataset(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x, self._y

    def setSymbol(self, symbol: str | None) -> None:
        self._restyle(symbol=symbol)

    def setSymbolSize(self, size: float) -> None:
        self._restyle(size=size)

    def setLogMode(self, x: bool | None = None, y: bool | None = None) -> None:
        if y is not None and y != self._log_y:
            self._log_y = bool(y)
            self._invalidate()
            self.update()

    def _restyle(self, **options) -> None:
        if any(self.opts[key] != value for key, value in options.items()):
            self.opts.update(options)
            self._invalidate()
            self.update()

    def _invalidate(self) -> None:
        self._image_key = None

    # What the view asks ------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        view = self.getViewBox()
        return view.viewRect() if view is not None else QRectF()

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()  # the bounding rect is the view's

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange=None):
        values = self._display_y(self._y) if axis == 1 else self._x
        values = values[np.isfinite(values)]
        return (float(values.min()), float(values.max())) if len(values) else (None, None)

    def pixelPadding(self) -> float:
        return self.opts["size"] / 2 if self.opts["symbol"] else 0.0

    # Drawing -----------------------------------------------------------------------------------
    def paint(self, painter: QPainter, *args) -> None:
        if len(self._x) == 0:
            return
        transform = painter.transform()  # data -> the view's pixels
        target = transform.mapRect(self.boundingRect()).toAlignedRect()
        if target.isEmpty():
            return
        ratio = painter.device().devicePixelRatioF()
        key = (_matrix(transform), target.getRect(), ratio, self._log_y)
        if key != self._image_key or len(self._x) - self._drawn > POINTS_PER_COLUMN * target.width():
            self._redraw(transform, target, ratio)
            self._image_key = key
        elif self._drawn < len(self._x):
            self._draw_points(transform, target, max(self._drawn - 1, 0), self._drawn)
        self._drawn = len(self._x)
        painter.save()
        painter.resetTransform()
        painter.drawImage(target.topLeft(), self._image)
        painter.restore()

    def _redraw(self, transform: QTransform, target, ratio: float) -> None:
        self.redraws += 1
        self._image = QImage(
            round(target.width() * ratio), round(target.height() * ratio), QImage.Format_ARGB32_Premultiplied
        )
        self._image.setDevicePixelRatio(ratio)
        self._image.fill(Qt.transparent)
        x0, x1 = self.getViewBox().viewRange()[0]
        first = max(int(np.searchsorted(self._x, x0, side="left")) - 1, 0)
        last = min(int(np.searchsorted(self._x, x1, side="right")) + 1, len(self._x))
        self._draw_points(transform, target, first, first, last, downsample_to=target.width())

    def _draw_points(
        self,
        transform: QTransform,
        target,
        first: int,
        first_symbol: int,
        end: int | None = None,
        downsample_to: int | None = None,
    ) -> None:
        """Draw points first..end (lines) and first_symbol..end (symbols) onto the image."""
        x, y = self._x[first:end], self._display_y(self._y[first:end])
        if downsample_to is not None:
            x, y = _peak_downsample(x, y, downsample_to)
            self.last_redraw_points = len(x)
        to_image = transform * QTransform.fromTranslate(-target.left(), -target.top())
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.Antialiasing, self.opts["antialias"])
        painter.setTransform(to_image)
        painter.setPen(self.opts["pen"])
        if len(x) > FEW:
            painter.drawPath(pg.arrayToQPath(x, y, connect="finite"))
        else:  # a frame's few new points: cheaper as plain polylines than through numpy
            for line in _finite_runs(x.tolist(), y.tolist()):
                if len(line) > 1:
                    painter.drawPolyline(line)
        if self.opts["symbol"]:
            skip = first_symbol - first
            self._draw_symbols(painter, to_image, x[skip:], y[skip:])
        painter.end()

    def _draw_symbols(self, painter: QPainter, to_image: QTransform, x: np.ndarray, y: np.ndarray) -> None:
        pen, brush = pg.mkPen(self.opts["pen"].color()), self.opts["brush"]
        for px, py in zip(x, y):
            if not (np.isfinite(px) and np.isfinite(py)):
                continue
            at = to_image.map(QPointF(px, py))
            painter.resetTransform()
            painter.translate(at)
            drawSymbol(painter, self.opts["symbol"], self.opts["size"], pen, brush)

    def _display_y(self, y: np.ndarray) -> np.ndarray:
        if not self._log_y:
            return y
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan)


def _finite_runs(x: list[float], y: list[float]) -> list[list[QPointF]]:
    """The points as lines broken wherever x or y is not finite (a NaN loss leaves a gap)."""
    runs: list[list[QPointF]] = [[]]
    for px, py in zip(x, y):
        if math.isfinite(px) and math.isfinite(py):
            runs[-1].append(QPointF(px, py))
        elif runs[-1]:
            runs.append([])
    return runs


def _matrix(transform: QTransform) -> tuple[float, ...]:
    return (transform.m11(), transform.m12(), transform.m21(), transform.m22(), transform.dx(), transform.dy())


def _peak_downsample(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``POINTS_PER_COLUMN * columns`` points: each run of points becomes its lowest
    and its highest, so spikes stay visible (pyqtgraph's "peak" method)."""
    per_run = len(x) // (columns * POINTS_PER_COLUMN // 2)
    if per_run < 2:
        return x, y
    starts = np.arange(0, len(x), per_run)
    low, high = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)  # NaN only where a run is all NaN
    return np.repeat(x[starts], 2), np.column_stack([low, high]).ravel()
