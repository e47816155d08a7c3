"""Parameters and buffers of the real model: the lazy tree, and plots of the selected tensor.

The histogram shows any tensor's values; a tensor with two or more dimensions is also drawn
as a heat map of its ``[shape[0], rest]`` matrix (a conv weight ``[out, in*kH*kW]``), the way
the layer multiplies it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QSplitter, QTreeView, QVBoxLayout, QWidget
from torch import nn

from widgets.inspect.parameters_model import COLUMNS, GRAD, NAME, ParametersModel, trainable_count

MAX_HISTOGRAM_VALUES = 1_000_000
MAX_IMAGE_SIDE = 1024


def histogram(values: np.ndarray, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) of the finite values; a constant tensor gets one narrow bin."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0])
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    return edges, counts.astype(float)


def as_matrix(tensor: torch.Tensor) -> np.ndarray | None:
    """A tensor of 2+ dimensions as ``[shape[0], rest]`` (strided down when huge), else None."""
    if tensor.dim() < 2 or tensor.numel() == 0:
        return None
    matrix = tensor.detach().float().reshape(tensor.shape[0], -1)
    step_rows = max(1, matrix.shape[0] // MAX_IMAGE_SIDE)
    step_cols = max(1, matrix.shape[1] // MAX_IMAGE_SIDE)
    return matrix[::step_rows, ::step_cols].numpy()


class ParametersPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._stale = False
        self.current_path = ""

        self.model = ParametersModel(session, self)
        self.tree = QTreeView()
        self.tree.setUniformRowHeights(True)
        self.tree.setModel(self.model)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.resizeSection(NAME, 180)
        for column in range(1, len(COLUMNS)):
            header.resizeSection(column, 90)
        self.tree.selectionModel().currentChanged.connect(self._on_current)

        self.trainable_label = QLabel()
        self.tensor_label = QLabel("Select a parameter or buffer to see its values")
        self.histogram_plot = pg.PlotWidget(title="Values")
        self.histogram_plot.setLabel("left", "count")
        self.histogram_item = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(80, 120, 200, 150))
        self.histogram_plot.addItem(self.histogram_item)
        self.heatmap_plot = pg.PlotWidget(title="As a matrix")
        self.heatmap_plot.invertY(True)
        self.heatmap_plot.setAspectLocked(False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(pg.colormap.get("viridis"))
        self.heatmap_plot.addItem(self.image_item)
        self.heatmap_plot.hide()

        self.plots = plots = QSplitter(Qt.Horizontal)
        plots.addWidget(self.histogram_plot)
        plots.addWidget(self.heatmap_plot)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.tensor_label)
        bottom_layout.addWidget(plots, 1)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.trainable_label)
        layout.addWidget(splitter)

        self.model.modelSwapped.connect(self._on_model_swapped)
        self.model.dataChanged.connect(self._on_data_changed)
        session.analysed.connect(self._on_analysed)
        session.projectReplaced.connect(self._on_analysed)
        self.update_trainable()

    # Following the session -------------------------------------------------------------------
    def _on_analysed(self) -> None:
        if self.isVisible():
            self.model.sync()
        else:
            self._stale = True  # the real model is built only when someone looks at it

    def showEvent(self, event) -> None:
        if self._stale:
            self._stale = False
            self.model.sync()
        super().showEvent(event)

    def _on_model_swapped(self) -> None:
        self.update_trainable()
        index = self.model.index_of(self.current_path) if self.current_path else None
        if index is not None and index.isValid():
            self.show_tensor(index)
        else:
            self.clear_plots()

    def _on_data_changed(self, top_left, bottom_right, roles=()) -> None:
        if top_left.column() <= GRAD <= bottom_right.column():
            self.update_trainable()

    def update_trainable(self) -> None:
        trainable, total = trainable_count(self.model.model)
        self.trainable = trainable
        self.trainable_label.setText(f"Trainable parameters: {trainable:,} of {total:,} ({total - trainable:,} frozen)")

    # The selected tensor ---------------------------------------------------------------------
    def select_path(self, path: str) -> bool:
        """Select a module, parameter or buffer by its full name, as a click in the tree would."""
        index = self.model.index_of(path)
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def _on_current(self, current, previous=None) -> None:
        if not current.isValid():
            return
        node = self.model.node(current)
        if node.kind == "module":
            self.current_path = node.path
            self.clear_plots()
            self.tensor_label.setText(f"{node.path or '(model)'}: {type(node.obj).__name__}")
            self.session.select(node.path)
            return
        self.show_tensor(current)
        owner_path = node.parent.path if node.parent is not None else ""
        self.session.select(owner_path)

    def show_tensor(self, index) -> None:
        node = self.model.node(index)
        if node.kind == "module":
            return
        self.current_path = node.path
        tensor: torch.Tensor = node.obj
        if isinstance(tensor, nn.parameter.UninitializedTensorMixin):
            self.clear_plots()
            self.tensor_label.setText(f"{node.path}: not initialised yet (a lazy module)")
            return
        values = tensor.detach().float().reshape(-1)
        if values.numel() > MAX_HISTOGRAM_VALUES:
            values = values[:: values.numel() // MAX_HISTOGRAM_VALUES + 1]
        edges, counts = histogram(values.numpy())
        self.histogram_item.setData(edges, counts)
        self.histogram_plot.setTitle(f"Values of {node.path}")
        matrix = as_matrix(tensor)
        if matrix is None:
            self.image_item.clear()
            self.heatmap_plot.hide()
        else:
            self.image_item.setImage(matrix, autoLevels=True)
            self.heatmap_plot.setTitle(f"{node.path} as [{matrix.shape[0]}, {matrix.shape[1]}]")
            if self.heatmap_plot.isHidden():
                self.heatmap_plot.show()
                half = max(1, self.plots.width() // 2)
                self.plots.setSizes([half, half])
        shape = ", ".join(str(s) for s in tensor.shape)
        self.tensor_label.setText(f"{node.path}: {node.kind} [{shape}] {str(tensor.dtype).removeprefix('torch.')}")

    def clear_plots(self) -> None:
        self.histogram_item.setData([], [])
        self.image_item.clear()
        self.heatmap_plot.hide()

    def showing_image(self) -> bool:
        return not self.heatmap_plot.isHidden() and self.image_item.image is not None

    def showing_histogram(self) -> bool:
        x, y = self.histogram_item.getData()
        return y is not None and len(y) > 0
