"""One probed module on the activations panel: its latest histogram, its distribution over the run
as percentile bands (TensorBoard's distributions: darker toward the median), its statistics and,
for ReLU-like layers, the fraction of dead units over time.

A card draws only when its owner asks (``show_series``), and plots again only when there is a row
it has not drawn or the kind shown changed; anything else is a label update.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainterPath
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.training.distributions import ProbeSeries, envelope, is_relu_like, reduce_blocks

CARD_WIDTH = 320
CARD_HEIGHT = 230
MAX_POINTS = 1000  # per band on screen: longer histories are shown as block envelopes
COLORS = {"activation": (31, 119, 180), "gradient": (214, 110, 20)}
BAND_ALPHAS = (45, 75, 110, 150)  # outermost pair of percentiles first: darker toward the median
DEAD_COLOR = (200, 60, 50)
NO_DATA = {"activation": "no activations recorded", "gradient": "no gradients recorded"}


class BandItem(pg.GraphicsObject):
    """The area between a lower and an upper curve over the same x, as one closed path."""

    def __init__(self, color) -> None:
        super().__init__()
        self._path = QPainterPath()
        self._brush = pg.mkBrush(color)
        self.x = self.low = self.high = np.empty(0)

    def setData(self, x: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:  # noqa: N802 - pyqtgraph's name
        keep = np.isfinite(low) & np.isfinite(high)
        if not keep.all():
            x, low, high = x[keep], low[keep], high[keep]
        self.x, self.low, self.high = x, low, high
        self.prepareGeometryChange()
        if len(x):
            self._path = pg.arrayToQPath(np.concatenate((x, x[::-1])), np.concatenate((low, high[::-1])))
            self._path.closeSubpath()
        else:
            self._path = QPainterPath()
        self.informViewBoundsChanged()
        self.update()

    def setColor(self, color) -> None:  # noqa: N802
        self._brush = pg.mkBrush(color)
        self.update()

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802, N803
        if not len(self.x):
            return None, None
        values = self.x if ax == 0 else np.concatenate((self.low, self.high))
        return float(values.min()), float(values.max())

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._path.boundingRect()

    def paint(self, painter, *args) -> None:
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._brush)
        painter.drawPath(self._path)


def number(value: float) -> str:
    """Three significant digits, short: 0.135, -4.22e-4, 1.5e+5."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and not 1e-2 <= abs(value) < 1e4:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.3g}"


def alive_counts(hist: np.ndarray, edges: np.ndarray, zero_fraction: float, count: int) -> np.ndarray:
    """The histogram without the exact zeros (estimated by the probe) in the bin that holds 0: a
    ReLU's dead units would otherwise be one bar that flattens everything else."""
    if not (math.isfinite(zero_fraction) and zero_fraction > 0) or not edges[0] <= 0 <= edges[-1]:
        return hist
    alive = hist.astype(np.float64)
    index = min(max(int(np.searchsorted(edges, 0.0, side="right")) - 1, 0), len(hist) - 1)
    alive[index] = max(alive[index] - zero_fraction * count, 0.0)
    return alive


def percent(fraction: float) -> str:
    return f"{100 * fraction:.0f}%" if math.isfinite(fraction) else "?"


def _small_plot(layout: pg.GraphicsLayout, row: int, col: int, **kwargs) -> pg.PlotItem:
    plot = layout.addPlot(row=row, col=col, **kwargs)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)  # overview plots inside a scroll area: the wheel scrolls
    font = QFont()
    font.setPointSizeF(7)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setStyle(tickFont=font, tickTextOffset=2, tickLength=-4)
    plot.getAxis("bottom").setHeight(18)
    plot.layout.setContentsMargins(0, 0, 2, 0)
    return plot


class _Plots(pg.GraphicsLayoutWidget):
    """The card's plots, which are overviews: the mouse wheel over them scrolls the cards."""

    def wheelEvent(self, event) -> None:  # noqa: N802
        area = self.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None:
            event.ignore()
        else:
            QApplication.sendEvent(area.viewport(), event)


class ActivationCard(QFrame):
    """The plots and numbers of one module path; ``kind`` is "activation" or "gradient"."""

    def __init__(self, path: str, type_name: str, qs: tuple[float, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.type_name = type_name
        self.relu_like = is_relu_like(type_name)
        self.qs = tuple(qs)
        self.kind = "activation"
        self.stale_since: int | None = None  # the last step probed, once a later snapshot left it out
        self.redraws = 0  # plot updates so far (the panel redraws only changed cards)
        self._drawn: tuple[str, int] | None = None

        self.setObjectName("activationCard")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet("#activationCard { border: 1px solid #d5dae1; border-radius: 4px; background: white; }")
        self.setMinimumWidth(CARD_WIDTH - 20)
        self.setFixedHeight(CARD_HEIGHT)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

        shown_path = path or "(whole model)"
        self.title_label = QLabel(
            f"<b>{html.escape(shown_path)}</b>&nbsp;&nbsp;<span style='color:#5b6573'>{html.escape(type_name)}</span>"
        )
        self.title_label.setToolTip(f"{shown_path} ({type_name})" if type_name else shown_path)
        # a long path is cut rather than widening the card
        self.title_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.status_label = QLabel()
        self.status_label.setStyleSheet("color: #a15c00; font-style: italic;")
        self.dead_label = QLabel()
        self.dead_label.setStyleSheet(f"color: rgb{DEAD_COLOR}; font-weight: 600;")
        if not self.relu_like:  # never show() a label before it has a parent: it would be a window
            self.dead_label.hide()
        self.stats_label = QLabel()
        self.stats_label.setStyleSheet("color: #333;")
        self.stats_label.setWordWrap(True)  # between items only: each keeps its name and number together

        self.plots = _Plots()
        self.plots.setBackground("w")
        self.plots.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.plots.ci.layout.setSpacing(2)
        self.histogram_plot = _small_plot(self.plots.ci, 0, 0, rowspan=2 if self.relu_like else 1)
        self.histogram_plot.hideAxis("left")  # the shape matters, the counts are in the bars' heights
        self.bands_plot = _small_plot(self.plots.ci, 0, 1)
        self.plots.ci.layout.setColumnStretchFactor(0, 2)
        self.plots.ci.layout.setColumnStretchFactor(1, 3)
        self.histogram_curve = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.histogram_plot.addItem(self.histogram_curve)
        pairs = len(self.qs) // 2
        self.band_items = [BandItem((0, 0, 0, 0)) for _ in range(pairs)]
        for item in self.band_items:
            self.bands_plot.addItem(item)
        self.median_curve = pg.PlotCurveItem()
        self.bands_plot.addItem(self.median_curve)
        self.dead_plot: pg.PlotItem | None = None
        self.dead_curve: pg.PlotDataItem | None = None
        if self.relu_like:
            self.dead_plot = _small_plot(self.plots.ci, 1, 1)
            self.dead_plot.setFixedHeight(44)
            self.dead_plot.setYRange(0, 1, padding=0.05)
            self.dead_plot.getAxis("left").setTicks([[(0.0, "0"), (1.0, "100%")]])
            self.dead_plot.getAxis("bottom").setStyle(showValues=False)
            self.dead_plot.getAxis("bottom").setHeight(4)
            self.dead_plot.setXLink(self.bands_plot)
            self.dead_curve = pg.PlotDataItem(pen=pg.mkPen(DEAD_COLOR, width=1.2), fillLevel=0, brush=(*DEAD_COLOR, 60))
            self.dead_plot.addItem(self.dead_curve)
            self.bands_plot.getAxis("left").setWidth(36)
            self.dead_plot.getAxis("left").setWidth(36)
        self._apply_colors()

        title = QHBoxLayout()
        title.setContentsMargins(0, 0, 0, 0)
        title.addWidget(self.title_label, 1)
        title.addWidget(self.dead_label)
        title.addWidget(self.status_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(title)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.stats_label)

    # Drawing -----------------------------------------------------------------------------------
    def set_kind(self, kind: str) -> None:
        if kind != self.kind:
            self.kind = kind
            self._apply_colors()

    def _apply_colors(self) -> None:
        color = COLORS.get(self.kind, COLORS["activation"])
        self.histogram_curve.setPen(pg.mkPen(color, width=1))
        self.histogram_curve.setBrush((*color, 110))
        for item, alpha in zip(self.band_items, BAND_ALPHAS[-len(self.band_items) :] if self.band_items else ()):
            item.setColor((*color, alpha))
        self.median_curve.setPen(pg.mkPen([max(0, c - 40) for c in color], width=1.5))

    def set_stale(self, last_step: int | None) -> None:
        self.stale_since = last_step
        self.status_label.setText("" if last_step is None else f"not probed since step {last_step}")

    def show_series(self, series: ProbeSeries | None) -> None:
        """Plots ``series`` (of this card's kind) if it has rows not drawn yet; always updates the numbers."""
        size = 0 if series is None else series.size
        if self._drawn == (self.kind, size):
            return
        self._drawn = (self.kind, size)
        self.redraws += 1
        if series is None or size == 0:
            self._clear()
            return
        latest = series.latest
        counts = series.hist
        if self.relu_like:
            counts = alive_counts(counts, series.edges, latest.zero_fraction, latest.count)
        self.histogram_curve.setData(series.edges, counts)
        steps, bands = envelope(series.steps, series.bands, self.qs, MAX_POINTS)
        last = len(self.qs) - 1
        for i, item in enumerate(self.band_items):
            item.setData(steps, bands[:, i], bands[:, last - i])
        median = self.qs.index(50.0) if 50.0 in self.qs else len(self.qs) // 2
        self.median_curve.setData(steps, bands[:, median])
        if self.dead_curve is not None:
            zeros = series.column("zero_fraction")
            if len(steps) < size:  # the same blocks as the bands, keeping each block's worst
                zeros = reduce_blocks(zeros, math.ceil(size / MAX_POINTS), "max")
            self.dead_curve.setData(steps, zeros)
        self.stats_label.setText(self._stats_text(series))
        self.dead_label.setText(self._dead_text(series))

    def _clear(self) -> None:
        empty = np.empty(0)
        self.histogram_curve.setData(np.zeros(1), empty)
        for item in self.band_items:
            item.setData(empty, empty, empty)
        self.median_curve.setData(empty, empty)
        if self.dead_curve is not None:
            self.dead_curve.setData(empty, empty)
        self.stats_label.setText(NO_DATA.get(self.kind, "nothing recorded"))
        self.dead_label.setText("")

    def _stats_text(self, series: ProbeSeries) -> str:
        s = series.latest
        items = (f"mean {number(s.mean)}", f"std {number(s.std)}", f"min {number(s.min)} .. max {number(s.max)}")
        return "  ".join(item.replace(" ", "\u00a0") for item in items)

    def _dead_text(self, series: ProbeSeries) -> str:
        """The zero fraction, where zeros mean dead units (gradients: units that pass nothing back)."""
        if not self.relu_like:
            return ""
        label = "dead" if self.kind == "activation" else "zero grads"
        return f"{label} {percent(series.latest.zero_fraction)}"

    # What is on screen (for tests and tooltips) --------------------------------------------------
    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts) as drawn."""
        x, y = self.histogram_curve.getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)

    def bands(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, a column per percentile) as drawn."""
        x, median = self.median_curve.getData()
        if x is None or not len(x):
            return np.empty(0), np.empty((0, len(self.qs)))
        columns = [None] * len(self.qs)
        last = len(self.qs) - 1
        for i, item in enumerate(self.band_items):
            columns[i], columns[last - i] = item.low, item.high
        columns[len(self.band_items)] = median
        return x, np.column_stack(columns)

    def dead_fractions(self) -> np.ndarray | None:
        if self.dead_curve is None:
            return None
        return self.dead_curve.getData()[1]
