"""A look at a dataset before training: what the samples are, how many, and of which classes.

The view is picked from the data's shape: a scatter for 2-D points (class colours as in the
decision boundary), x against y for 1-D regression, a grid of the first images with their class
names, or a few token sequences as lines. A caption line gives the counts.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from app.data.loading import Data
from widgets.training.boundary_view import class_color, class_scatter, subsample

MAX_TILES = 24
TILE_COLUMNS = 6
MAX_SEQUENCES_PER_CLASS = 2
MAX_SEQUENCES = 6
NEUTRAL = class_color(1)
CAPTION_STYLE = "color: #5b6573;"
ERROR_STYLE = "color: #b3261e; font-weight: 600;"


def describe(data: Data) -> str:
    """'1,600 training / 400 validation samples · 3 classes · input 2'."""
    parts = [f"{len(data.x_train):,} training / {len(data.x_val):,} validation samples"]
    if data.task == "classification":
        count = data.num_classes or 0
        parts.append(f"{count:,} class" + ("" if count == 1 else "es"))
    else:
        targets = int(np.prod(data.y_train.shape[1:])) if data.y_train.ndim > 1 else 1
        parts.append("regression" + (f", {targets} targets" if targets > 1 else ""))
    shape = "×".join(str(n) for n in data.sample_shape) or "scalar"
    parts.append(f"input {shape}" + (" token ids" if data.x_dtype == "int64" else ""))
    return " · ".join(parts)


def preview_kind(data: Data) -> str:
    """ "scatter", "regression", "images", "sequences", or "none"."""
    shape = tuple(data.sample_shape)
    if data.x_dtype == "int64":
        return "sequences" if len(shape) == 1 else "none"
    if len(shape) == 1 and shape[0] >= 1:
        return "regression" if data.task == "regression" else "scatter"
    if len(shape) in (2, 3) and min(shape[-2:]) >= 2:
        return "images"
    return "none"


def image_tiles(x: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 from (n, C, H, W) or (n, H, W) floats, on levels shared by all tiles.

    One or three channels are shown as grey or colour; any other count shows the first channel.
    """
    if x.ndim == 3:
        x = x[:, None]
    x = x[:, :3] if x.shape[1] == 3 else x[:, :1]
    finite = x[np.isfinite(x)]
    low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    scaled = np.clip((np.nan_to_num(x, nan=low) - low) / (high - low), 0.0, 1.0) * 255.0
    tiles = np.rint(scaled).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.repeat(tiles, 3, axis=3) if tiles.shape[3] == 1 else tiles


class DataPreview(QWidget):
    """``show_data`` draws a dataset; ``show_error`` says why one could not be loaded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind: str | None = None
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stack = QStackedWidget()

        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.legend = self.plot.addLegend(
            offset=(-8, 8),
            labelTextSize="8pt",
            brush=pg.mkBrush(255, 255, 255, 230),
            pen=pg.mkPen("#d5dae1"),
        )
        self.legend.setVisible(False)
        self.scatter_items: list[pg.ScatterPlotItem] = []
        self.curve_items: list[pg.PlotDataItem] = []

        self.images_widget = pg.GraphicsLayoutWidget()
        self.images_widget.setBackground("w")
        self.image_view = self.images_widget.addViewBox()
        self.image_view.setAspectLocked(True)
        self.image_view.invertY(True)
        self.image_view.setMouseEnabled(False, False)
        self.image_view.setMenuEnabled(False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_view.addItem(self.image_item)
        self.tile_captions: list[pg.TextItem] = []
        self.tile_boxes: list[tuple[int, int, int, int]] = []  # (top, left, height, width) in the mosaic

        self.empty_page = QLabel("")
        self.empty_page.setAlignment(Qt.AlignCenter)
        self.empty_page.setWordWrap(True)
        self.empty_page.setStyleSheet(CAPTION_STYLE)
        for page in (self.empty_page, self.plot_widget, self.images_widget):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.clear()

    # -- what callers use -------------------------------------------------------------------------

    def show_data(self, data: Data) -> None:
        self.clear()
        self.kind = preview_kind(data)
        self._set_caption(describe(data), error=False)
        draw = {
            "scatter": self._draw_scatter,
            "regression": self._draw_regression,
            "images": self._draw_images,
            "sequences": self._draw_sequences,
        }.get(self.kind)
        if draw is None:
            self.empty_page.setText(f"No preview for inputs of shape {tuple(data.sample_shape)}.")
            return
        draw(data)

    def show_error(self, message: str) -> None:
        """For a dataset that failed to load: the message in red, nothing drawn."""
        self.clear()
        self.kind = "error"
        self._set_caption(message, error=True)
        self.empty_page.setText("The dataset could not be loaded: fix its settings to see a preview.")

    def clear(self) -> None:
        self.kind = None
        self._set_caption("", error=False)
        self.plot.clear()
        self.legend.clear()
        self.legend.setVisible(False)
        self.scatter_items, self.curve_items = [], []
        self.image_item.clear()
        for item in self.tile_captions:
            self.image_view.removeItem(item)
        self.tile_captions, self.tile_boxes = [], []
        self.empty_page.setText("No dataset.")
        self.stack.setCurrentWidget(self.empty_page)

    def tile(self, index: int) -> np.ndarray:
        """The pixels of one shown image, (H, W, 3) uint8, as cut from the mosaic."""
        top, left, height, width = self.tile_boxes[index]
        return self.image_item.image[top : top + height, left : left + width]

    # -- the kinds of preview ---------------------------------------------------------------------

    def _use_plot(self, x_label: str, y_label: str, aspect: bool) -> None:
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.plot.setAspectLocked(aspect)
        self.stack.setCurrentWidget(self.plot_widget)

    def _draw_scatter(self, data: Data) -> None:
        features = data.sample_shape[0]
        if features >= 2:
            columns, labels = (0, 1), ("x1", "x2")
            if features > 2:
                self._set_caption(f"{describe(data)} · showing the first 2 features", error=False)
        else:
            columns, labels = (0, None), ("x1", "class")
        self._use_plot(*labels, aspect=features == 2)
        for x, y, hollow in ((data.x_train, data.y_train, False), (data.x_val, data.y_val, True)):
            chosen = subsample(len(x))
            points = _columns(x[chosen].numpy(), y[chosen].numpy(), columns)
            self.scatter_items += class_scatter(self.plot, points, y[chosen].numpy().reshape(-1), hollow=hollow)
        self.plot.autoRange()

    def _draw_regression(self, data: Data) -> None:
        self._use_plot("x1", "y", aspect=False)
        r, g, b = NEUTRAL
        for x, y, hollow in ((data.x_train, data.y_train, False), (data.x_val, data.y_val, True)):
            chosen = subsample(len(x))
            xs = x[chosen].reshape(len(x[chosen]), -1)[:, 0].numpy()
            ys = y[chosen].reshape(len(y[chosen]), -1)[:, 0].numpy()
            if hollow:
                pen, brush = pg.mkPen(r, g, b, width=1.5), pg.mkBrush(255, 255, 255, 220)
            else:
                pen, brush = pg.mkPen(255, 255, 255, 200, width=1), pg.mkBrush(r, g, b, 200)
            item = pg.ScatterPlotItem(xs, ys, pen=pen, brush=brush, size=6)
            item.hollow = hollow
            self.plot.addItem(item)
            self.scatter_items.append(item)
        self.plot.autoRange()

    def _draw_images(self, data: Data) -> None:
        count = min(MAX_TILES, len(data.x_train))
        tiles = image_tiles(data.x_train[:count].numpy())
        _, height, width, _ = tiles.shape
        columns = min(TILE_COLUMNS, count)
        rows = -(-count // columns)
        gap_x, caption_h = max(2, width // 5), max(6, height // 2)
        cell_w, cell_h = width + gap_x, height + caption_h
        mosaic = np.full((rows * cell_h, columns * cell_w - gap_x, 3), 255, dtype=np.uint8)
        labels = data.y_train[:count].reshape(count, -1)[:, 0].tolist()
        for k in range(count):
            top, left = (k // columns) * cell_h, (k % columns) * cell_w
            mosaic[top : top + height, left : left + width] = tiles[k]
            self.tile_boxes.append((top, left, height, width))
            text = pg.TextItem(self._label_text(data, labels[k]), color="#333333", anchor=(0.5, 0.0))
            text.setPos(left + width / 2, top + height)
            self.image_view.addItem(text)
            self.tile_captions.append(text)
        self.image_item.setImage(mosaic, levels=(0, 255), autoLevels=False)
        self.stack.setCurrentWidget(self.images_widget)
        self.image_view.autoRange(padding=0.02)

    def _draw_sequences(self, data: Data) -> None:
        self._use_plot("position", "token id", aspect=False)
        x = data.x_train
        labels = data.y_train.reshape(len(x), -1)[:, 0]
        classification = data.task == "classification"
        chosen: list[int] = []
        if classification:  # a few of each class, class by class, so the legend reads in order
            for k in range(data.num_classes or 0):
                chosen += (labels == k).nonzero().flatten()[:MAX_SEQUENCES_PER_CLASS].tolist()
        else:
            chosen = list(range(len(x)))
        named: set[int] = set()
        positions = np.arange(x.shape[1])
        for i in chosen[:MAX_SEQUENCES]:
            k = int(labels[i])
            color = class_color(k) if classification else NEUTRAL
            name = None
            if classification and k not in named:
                named.add(k)
                name = self._label_text(data, k)
            item = self.plot.plot(
                positions,
                x[i].numpy(),
                pen=pg.mkPen(*color, 200, width=1.5),
                symbol="o",
                symbolSize=5,
                symbolPen=None,
                symbolBrush=color,
                name=name,
            )
            item.class_index = k if classification else None
            item.sample_index = i
            self.curve_items.append(item)
        self.legend.setVisible(bool(named))
        self.plot.autoRange()

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _label_text(data: Data, label: float) -> str:
        if data.task != "classification":
            return f"{label:.3g}"
        k = int(label)
        names = data.class_names
        return names[k] if names and 0 <= k < len(names) else f"class {k}"

    def _set_caption(self, text: str, error: bool) -> None:
        self.caption.setText(text)
        self.caption.setProperty("role", "error" if error else "caption")
        self.caption.setStyleSheet(ERROR_STYLE if error else CAPTION_STYLE)


def _columns(x: np.ndarray, labels: np.ndarray, columns: tuple[int, int | None]) -> np.ndarray:
    """(n, 2) points: two feature columns, or one feature against the class index."""
    flat = x.reshape(len(x), -1)
    first, second = columns
    other = flat[:, second] if second is not None else labels.reshape(len(x), -1)[:, 0].astype(np.float32)
    return np.stack([flat[:, first], other], axis=1)
