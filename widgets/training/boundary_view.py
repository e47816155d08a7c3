"""The live decision boundary of a 2-D classifier, in the manner of TensorFlow Playground.

The background is the model's prediction over a grid (:class:`app.training.boundary.BoundaryImage`):
each cell in its class's colour, faded toward white where the model is unsure. The data points
lie on top: training points filled, validation points hollow. The class palette here is the one
every view uses, so class k has the same colour everywhere.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.data.loading import Data
from app.training.boundary import BoundaryGrid, BoundaryImage

# Class 0 orange and class 1 blue as in TensorFlow Playground, then Tableau's colours.
BASE_COLORS: tuple[tuple[int, int, int], ...] = (
    (245, 147, 34),
    (8, 119, 189),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
# The boundary's strongest tint: a fully confident cell keeps some white, so the points stand out.
MAX_TINT = 0.65
MAX_POINTS = 20_000  # per set (training, validation); more would slow every redraw
POINT_SIZE = 7


def class_color(k: int) -> tuple[int, int, int]:
    """The colour of class ``k``: fixed, the same in every view."""
    if k < len(BASE_COLORS):
        return BASE_COLORS[k]
    hue = (k * 0.618033988749895) % 1.0  # golden-ratio steps keep neighbouring classes apart
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return int(r * 255), int(g * 255), int(b * 255)


def class_colors(count: int) -> np.ndarray:
    """(count, 3) uint8: the colours of classes 0 .. count-1."""
    return np.array([class_color(k) for k in range(count)], dtype=np.uint8).reshape(count, 3)


def boundary_rgb(image: BoundaryImage) -> np.ndarray:
    """(res, res, 3) uint8: each cell's class colour, blended toward white as confidence drops.

    Confidence is rescaled so that a uniform guess (1 / classes) is pure white and certainty
    is ``MAX_TINT`` of the class colour.
    """
    classes = max(image.num_classes, int(image.label.max(initial=0)) + 1, 2)
    chance = 1.0 / classes
    strength = np.clip((image.confidence - chance) / (1.0 - chance), 0.0, 1.0) * MAX_TINT
    colors = class_colors(classes).astype(np.float32)[np.clip(image.label, 0, classes - 1)]
    rgb = 255.0 + (colors - 255.0) * strength[..., None]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def subsample(count: int, limit: int = MAX_POINTS) -> slice:
    """Every n-th sample, so at most ``limit`` are drawn (the data is already shuffled)."""
    return slice(None, None, max(1, -(-count // limit)))


def class_scatter(
    plot: pg.PlotItem, x: np.ndarray, labels: np.ndarray, hollow: bool = False
) -> list[pg.ScatterPlotItem]:
    """One scatter per class (one brush each: far cheaper than a brush per point)."""
    items = []
    for k in np.unique(labels).tolist():
        points = x[labels == k]
        r, g, b = class_color(int(k))
        if hollow:
            pen, brush, size = pg.mkPen(r, g, b, width=2), pg.mkBrush(255, 255, 255, 220), POINT_SIZE
        else:
            pen, brush, size = pg.mkPen(255, 255, 255, 230, width=1), pg.mkBrush(r, g, b), POINT_SIZE
        item = pg.ScatterPlotItem(points[:, 0], points[:, 1], pen=pen, brush=brush, size=size)
        item.class_index = int(k)
        item.hollow = hollow
        plot.addItem(item)
        items.append(item)
    return items


class SmoothImageItem(pg.ImageItem):
    """An image scaled with bilinear filtering: a coarse grid reads as smooth regions, not blocks."""

    def paint(self, painter: QPainter, *args) -> None:
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        super().paint(painter, *args)


class BoundaryView(QWidget):
    """The model's decision regions over the 2-D data; ``set_prediction`` redraws the background."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setProperty("role", "caption")
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        # Not aspect-locked: a locked view in a panel of another shape shows bands past the image
        # on two sides; this way the prediction fills the plot and covers every point.
        self.plot.setAspectLocked(False)
        self.plot.setLabel("bottom", "x1")
        self.plot.setLabel("left", "x2")
        self.plot.showGrid(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.image_item = SmoothImageItem(axisOrder="row-major")
        self.image_item.setZValue(-10)
        self.plot.addItem(self.image_item)
        self.image_item.hide()
        self.train_items: list[pg.ScatterPlotItem] = []
        self.val_items: list[pg.ScatterPlotItem] = []
        self.data: Data | None = None
        self.has_prediction = False
        self.step: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot_widget, 1)
        self._update_caption()

    def set_data(self, data: Data | None) -> None:
        """Draw the data's points; anything but 2-D classification clears the view and says why."""
        self.clear()
        if data is None:
            return
        grid = BoundaryGrid.for_data(data, resolution=2)
        if grid is None:
            self.caption.setText("The decision boundary needs classification data with 2 features.")
            return
        self.data = data
        train = subsample(len(data.x_train))
        val = subsample(len(data.x_val))
        # Validation on top: there are fewer of them, and hollow rings under filled dots would vanish.
        self.train_items = class_scatter(self.plot, data.x_train[train].numpy(), data.y_train[train].numpy())
        self.val_items = class_scatter(self.plot, data.x_val[val].numpy(), data.y_val[val].numpy(), hollow=True)
        self.plot.setRange(xRange=grid.x_range, yRange=grid.y_range, padding=0)
        self._update_caption()

    def set_prediction(self, image: BoundaryImage, step: int | None = None) -> None:
        """Show the model's prediction under the points; ``step`` goes in the caption."""
        (x0, x1), (y0, y1) = image.x_range, image.y_range
        self.image_item.setImage(boundary_rgb(image), levels=(0, 255), autoLevels=False)
        self.image_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.image_item.show()
        self.plot.setRange(xRange=image.x_range, yRange=image.y_range, padding=0)
        self.has_prediction = True
        self.step = step
        self._update_caption()

    def clear(self) -> None:
        """No points, no prediction."""
        for item in self.train_items + self.val_items:
            self.plot.removeItem(item)
        self.train_items, self.val_items = [], []
        self.image_item.clear()
        self.image_item.hide()
        self.has_prediction = False
        self.data = None
        self.step = None
        self._update_caption()

    def _update_caption(self) -> None:
        if self.data is None:
            self.caption.setText("No 2-D classification data.")
            return
        parts = []
        if self.step is not None:
            parts.append(f"step {self.step:,}")
        elif not self.has_prediction:
            parts.append("no prediction yet")
        parts.append("filled: training · hollow: validation")
        self.caption.setText(" · ".join(parts))
