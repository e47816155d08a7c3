"""Live training plots: loss, accuracy, learning rate and gradient norm, by step or by epoch.

The data lives in :class:`app.training.series.TrainingSeries` (Qt-free, preallocated buffers); this
widget only draws it. Feeding (``add_steps``, ``add_epoch``) never draws: the owner calls
``refresh()`` from its one redraw timer (<= 30 Hz), and only curves whose series changed since
the last refresh get ``setData``, on views of the buffers' filled parts. The curves are
:class:`widgets.training.live_curve.LiveCurve`: while a plot's view stays, a frame draws only the new
points; knowing the run's length (from ``start``), the x range moves a handful of times in a
whole run (see widgets.training.plot_range), and a redraw of a long run is peak-downsampled and clipped to the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import NNStudioError
from app.training.events import Epoch, Step
from app.training.series import SeriesSet, TrainingSeries
from widgets.training.live_curve import LiveCurve
from widgets.training.plot_range import DataBounds, StickyRange, union
from widgets.training.plot_widget import FOREGROUND, fit_legend, make_plot, show_legend, tool_button

# one colour per param group, in group order
PALETTE = tuple("#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #17becf #8c564b #e377c2 #7f7f7f #bcbd22".split())
STEP_COLOUR, TRAIN_COLOUR, VAL_COLOUR = "#9dbbd9", "#1f4e9c", "#e8710a"
PLOTS = (  # key, y-axis label, objectName
    ("loss", "loss", "lossPlot"),
    ("accuracy", "accuracy", "accuracyPlot"),
    ("lr", "learning rate", "lrPlot"),
    ("grad norm", "gradient norm", "gradNormPlot"),
)
LOG_PLOTS = ("loss", "grad norm")
AUTO_LOG_RATIO = 100.0  # a loss whose largest value is more than two decades above its smallest
VIEWS = (("step", "By step"), ("epoch", "By epoch"))
Y_SPANS = {"accuracy": (0.0, 1.0), "lr": (0.0, 0.0)}  # always in view: accuracy's whole scale; lr from zero


def plot_of(curve: str) -> str:
    """Which plot a curve belongs to, by its name."""
    if curve.startswith("lr: "):
        return "lr"
    if curve.startswith("grad norm: "):
        return "grad norm"
    return "accuracy" if curve.endswith("accuracy") else "loss"


class LivePlots(QWidget):
    """Four x-linked plots of a training run: loss, accuracy, learning rate, gradient norm.

    Curve names (legend text, ``points(name)`` and the CSV column headers):
    ``"step loss"``, ``"step accuracy"``: every step's values (only in the "By step" view);
    ``"train loss"``, ``"train accuracy"``, ``"val loss"``, ``"val accuracy"``: one point per
    epoch, at x = Epoch.step by step and x = Epoch.epoch by epoch;
    ``"lr: <group>"``: by step, each step's lr; by epoch, Epoch.lrs;
    ``"grad norm: <group>"``: by step, the norms where measured; by epoch, their mean over the
    epoch. Accuracy curves exist only for classification runs.

    Export CSV writes the current view's table: by step, columns step, epoch, then the curves;
    by epoch, columns epoch, step, then the curves (see :class:`app.training.series.SeriesSet`).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = TrainingSeries()
        self._view = "step"
        self._curves: dict[str, LiveCurve] = {}
        self._drawn: dict[str, tuple[int, int, int] | None] = {}  # (id, generation, version) drawn
        self._legend_names: dict[str, list[str]] = {}
        self._plots: dict[str, pg.PlotWidget] = {}
        self._bottom_row: set[str] = set()
        self._build_toolbar()
        self.plot_area = QWidget(self, objectName="plotArea")
        self._grid = QGridLayout(self.plot_area)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        for key, label, object_name in PLOTS:
            self._plots[key] = make_plot(self.plot_area, label, object_name)
        for key in ("accuracy", "lr", "grad norm"):
            self._plots[key].setXLink(self._plots["loss"])
        for plot in self._plots.values():
            plot.installEventFilter(self)  # a resized plot fits its legend's columns again
        # x is the loss plot's (the others are linked to it); a learning rate is read from zero up
        self._ranges = {
            key: StickyRange(widget.getPlotItem(), manage_x=key == "loss", y_span=Y_SPANS.get(key))
            for key, widget in self._plots.items()
        }
        self._x_goals: dict[str, float | None] = {"step": None, "epoch": None}
        self._bounds: dict[str, DataBounds] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(self._toolbar)
        layout.addWidget(self.plot_area, 1)
        self.start([], classification=False)

    # Building ---------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self.x_axis_combo = QComboBox(objectName="xAxisCombo")
        for _, text in VIEWS:
            self.x_axis_combo.addItem(text)
        self.x_axis_combo.setToolTip("Draw every step, or one point per epoch")
        self.x_axis_combo.currentIndexChanged.connect(lambda i: self.set_x_axis(VIEWS[i][0]))
        self.log_check = QCheckBox("Log scale", objectName="logScaleCheck")
        self.log_check.setToolTip(
            "Logarithmic y axis for the loss and the gradient norm (on by itself once the loss spans "
            "more than two decades, until you choose)"
        )
        self.log_check.toggled.connect(self._show_log_scale)
        self.log_chosen = False  # the user ticked or cleared Log scale: their choice wins from then on
        self._switching_by_itself = False
        self.fit_button = tool_button("Fit", "fitButton", self.fit)
        self.fit_button.setToolTip("Show all the data again (after zooming or panning with the mouse)")
        # tool buttons with short texts: the plots fit beside the training panel in a 1280-wide window
        self.png_button = tool_button("PNG...", "exportPngButton", self.export_png)
        self.png_button.setToolTip("Export the plots as a PNG image")
        self.csv_button = tool_button("CSV...", "exportCsvButton", self.export_csv)
        self.csv_button.setToolTip("Export every curve of the current view as one CSV table, a column per curve")
        self._toolbar = QHBoxLayout()
        self._toolbar.setContentsMargins(2, 0, 2, 0)
        for widget in (self.x_axis_combo, self.log_check, self.fit_button):
            self._toolbar.addWidget(widget)
        self._toolbar.addStretch(1)
        self._toolbar.addWidget(self.png_button)
        self._toolbar.addWidget(self.csv_button)

    def _add_curve(self, name: str, colour: str, width: float = 1.5, symbol: str | None = None) -> None:
        curve = LiveCurve(pg.mkPen(colour, width=width), symbol=symbol)
        self._plots[plot_of(name)].getPlotItem().addItem(curve)
        self._curves[name] = curve
        self._drawn[name] = None

    def _add_group_curves(self) -> None:
        for i in range(len(self._curves_groups()), len(self.history.groups)):
            group, colour = self.history.groups[i], PALETTE[i % len(PALETTE)]
            self._add_curve(f"lr: {group}", colour)
            self._add_curve(f"grad norm: {group}", colour)
        self._style_group_curves()

    def _curves_groups(self) -> list[str]:
        return [name.removeprefix("lr: ") for name in self._curves if name.startswith("lr: ")]

    def _layout_plots(self, classification: bool) -> None:
        for widget in self._plots.values():
            self._grid.removeWidget(widget)
        # Plots in one column share x pixels (x-linked); side by side ones show the same range
        if classification:
            places = {"loss": (0, 0, 1, 1), "accuracy": (0, 1, 1, 1), "lr": (1, 0, 1, 1), "grad norm": (1, 1, 1, 1)}
        else:
            places = {"loss": (0, 0, 2, 1), "lr": (0, 1, 1, 1), "grad norm": (1, 1, 1, 1)}
        self._bottom_row = {key for key, (row, _, rows, _) in places.items() if row + rows == 2}
        for key, widget in self._plots.items():
            if key in places:
                self._grid.addWidget(widget, *places[key])
            widget.setVisible(key in places)
        self._label_x_axes()

    def _label_x_axes(self) -> None:
        for key, plot in self._plots.items():
            item = plot.getPlotItem()
            item.setLabel("bottom", self._view, color=FOREGROUND, **{"font-size": "9pt"})
            bottom = key in self._bottom_row
            item.showLabel("bottom", bottom)  # the x label once, under the bottom row ...
            # ... and the x values too (the plot below shows the same): every x move regenerates
            # the values of each axis that shows them
            item.getAxis("bottom").setStyle(showValues=bottom)

    # The API the training view uses ----------------------------------------------------------------
    def start(
        self, groups: list[str], classification: bool, steps: int | None = None, epochs: int | None = None
    ) -> None:
        """Forget the previous run; ``groups`` label the optimizer's param groups. ``steps`` and
        ``epochs``, the run's length, let x grow in a few big moves up to the run's end, not
        past it (each move draws every curve and axis again)."""
        self._x_goals = {"step": steps, "epoch": epochs}
        self._ranges["loss"].x_goal = steps if self._view == "step" else epochs
        for name, curve in self._curves.items():
            self._plots[plot_of(name)].getPlotItem().removeItem(curve)
        self._curves.clear()
        self._drawn.clear()
        self._bounds.clear()
        self._legend_names = {key: [] for key, _, _ in PLOTS}
        for plot in self._plots.values():
            plot.getPlotItem().legend.clear()
        self.history.start(groups, classification)
        if not self.log_chosen:
            self._switch_log_scale_by_itself(False)  # a new run's loss decides again
        for kind in ("loss", "accuracy") if classification else ("loss",):
            self._add_curve(f"step {kind}", STEP_COLOUR, width=1)
            self._add_curve(f"train {kind}", TRAIN_COLOUR, width=2, symbol="o")
            self._add_curve(f"val {kind}", VAL_COLOUR, width=2, symbol="o")
        self._add_group_curves()
        self._layout_plots(classification)
        self.refresh()
        self.fit()

    def add_steps(self, steps: Sequence[Step]) -> None:
        """Record steps; nothing is drawn until ``refresh()``."""
        self.history.add_steps(steps)
        if len(self.history.groups) > len(self._curves_groups()):
            self._add_group_curves()

    def add_epoch(self, epoch: Epoch) -> None:
        """Record an epoch's summary; nothing is drawn until ``refresh()``."""
        self.history.add_epoch(epoch)
        if len(self.history.groups) > len(self._curves_groups()):
            self._add_group_curves()

    def refresh(self) -> None:
        """Redraw the curves whose data changed since the last refresh, and only those."""
        table = self.table()
        changed_plots: set[str] = set()
        for name, curve in self._curves.items():
            series = table.get(name)
            state = None if series is None else (id(series), series.generation, series.version)
            if state == self._drawn[name]:
                continue
            drawn = self._drawn[name]
            grown = state is not None and drawn is not None and state[:2] == drawn[:2]  # the same points and more
            self._drawn[name] = state
            if series is None or len(series) == 0:
                curve.setData(x=np.empty(0), y=np.empty(0))
                curve.setVisible(False)
                changed_plots.add(plot_of(name))
                continue
            curve.setData(x=series.x, y=series.y, appended=grown)
            if not curve.isVisible():
                curve.setVisible(True)
                changed_plots.add(plot_of(name))
        for key in changed_plots:
            self._update_legend(key)
        self._follow_data(table)

    def _follow_data(self, table: SeriesSet) -> None:
        """Move each plot's view to its data, rarely (see widgets.training.plot_range)."""
        x_bounds, y_bounds, y_positive_loss = {}, {}, []
        for name in self._curves:
            series = table.get(name)
            if series is None or len(series) == 0:
                continue
            bounds = self._bounds.setdefault(name, DataBounds())
            bounds.update(id(series), series.x, series.y)
            key = plot_of(name)
            if key == "loss":
                y_positive_loss.append(bounds.y_positive)
            log = self.log_check.isChecked() and key in LOG_PLOTS
            x_bounds.setdefault(key, []).append(bounds.x)
            y_bounds.setdefault(key, []).append(bounds.y_positive if log else bounds.y)
        if self._log_when_loss_spans_decades(y_positive_loss):
            return  # switching to log followed the data already (through fit)
        every_x = union([b for found in x_bounds.values() for b in found])
        for key, sticky in self._ranges.items():
            y = union(y_bounds.get(key, []))
            if y is not None:
                sticky.update(every_x, y, self.log_check.isChecked() and key in LOG_PLOTS)

    def _log_when_loss_spans_decades(self, loss_bounds: list[tuple[float, float]]) -> bool:
        """A loss falling by decades reads on a log axis (a linear one shows only its first steps).
        True when it switched the axis."""
        if self.log_chosen or self.log_check.isChecked():
            return False
        span = union(loss_bounds)
        if span is None or span[0] <= 0 or span[1] / span[0] <= AUTO_LOG_RATIO:
            return False
        self._switch_log_scale_by_itself(True)
        return True

    def points(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) data set on the curve called ``name`` (see the class docstring)."""
        x, y = self._curves[name].getOriginalDataset()
        if x is None or y is None:
            return np.empty(0), np.empty(0)
        return np.asarray(x), np.asarray(y)

    def curve(self, name: str) -> LiveCurve:
        """The curve called ``name`` (KeyError if this run has none)."""
        return self._curves[name]

    def legend_names(self, key: str) -> list[str]:
        """The names in the legend of plot ``key``: the curves that have data."""
        return list(self._legend_names.get(key, []))

    # View options ------------------------------------------------------------------------------
    @property
    def x_axis(self) -> str:
        """ "step" or "epoch"."""
        return self._view

    def table(self) -> SeriesSet:
        """The series of the current view (what the curves show and Export CSV writes)."""
        return self.history.by_step if self._view == "step" else self.history.by_epoch

    def set_x_axis(self, view: str) -> None:
        if view not in dict(VIEWS):
            raise ValueError(f"x axis is 'step' or 'epoch', not {view!r}")
        index = [v for v, _ in VIEWS].index(view)
        if self.x_axis_combo.currentIndex() != index:
            self.x_axis_combo.setCurrentIndex(index)  # comes back here through the signal
            return
        if view == self._view:
            return
        self._view = view
        self._ranges["loss"].x_goal = self._x_goals[view]
        self._label_x_axes()
        self._style_group_curves()
        self.refresh()
        self.fit()

    def _style_group_curves(self) -> None:
        symbol = "o" if self._view == "epoch" else None  # few points by epoch: show each
        for name, curve in self._curves.items():
            if plot_of(name) in ("lr", "grad norm"):
                curve.setSymbol(symbol)
                curve.setSymbolSize(5)

    def set_log_scale(self, on: bool) -> None:
        """The user's choice of a log y axis (as ticking Log scale): it stays, whatever the loss does."""
        self.log_check.setChecked(on)
        self.log_chosen = True

    def _switch_log_scale_by_itself(self, on: bool) -> None:
        self._switching_by_itself = True
        try:
            self.log_check.setChecked(on)
        finally:
            self._switching_by_itself = False

    def _show_log_scale(self, on: bool) -> None:
        if not self._switching_by_itself:
            self.log_chosen = True
        for key in LOG_PLOTS:
            self._plots[key].getPlotItem().setLogMode(x=False, y=on)
        self.fit()

    def fit(self) -> None:
        """Show all the data again, and follow it from now on (after a zoom or pan)."""
        for sticky in self._ranges.values():
            sticky.follow()
        self._follow_data(self.table())

    def plot(self, key: str) -> pg.PlotWidget:
        """The plot widget "loss", "accuracy", "lr" or "grad norm"."""
        return self._plots[key]

    # Export ------------------------------------------------------------------------------------
    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots as PNG", "training.png", "PNG images (*.png)")
        if not path:
            return
        path = str(Path(path).with_suffix(".png")) if not Path(path).suffix else path
        if not self.plot_area.grab().save(path, "PNG"):
            QMessageBox.warning(self, "Cannot export the plots", f"Could not write {path}")

    def export_csv(self) -> None:
        default = f"training-by-{self._view}.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export curves as CSV", default, "CSV files (*.csv)")
        if not path:
            return
        path = str(Path(path).with_suffix(".csv")) if not Path(path).suffix else path
        table = self.table()
        order = [key for key, _, _ in PLOTS]
        names = [n for n in table if n not in self._curves or len(table[n]) > 0]  # no empty columns
        names.sort(key=lambda n: order.index(plot_of(n)) if n in self._curves else -1)  # x helper first
        try:
            table.write_csv(path, names)
        except (NNStudioError, OSError) as error:
            QMessageBox.warning(self, "Cannot export the curves", f"{path}\n\n{error}")

    # Legends -----------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Resize and isinstance(watched, pg.PlotWidget):
            fit_legend(watched.getPlotItem())
        return super().eventFilter(watched, event)

    def _update_legend(self, key: str) -> None:
        names = [n for n, c in self._curves.items() if plot_of(n) == key and c.isVisible()]
        if names == self._legend_names.get(key):
            return
        show_legend(self._plots[key].getPlotItem(), [(self._curves[name], name) for name in names])
        self._legend_names[key] = names
