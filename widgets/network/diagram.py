"""The block diagram: the network drawn top to bottom in a zoomable QGraphicsView.

The geometry comes from :mod:`widgets.network.diagram_layout` (plain data); this module only paints
it. Each box is one light item that draws its own text, so a few hundred layers build in a
few milliseconds. Clicking a box selects its module in the session; the session's selection
highlights the box here.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QKeySequence,
    QPainter,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QWidget

from widgets.network.diagram_items import FAMILY_COLOURS, BoxItem, DotItem, EdgeItem, FrameItem
from widgets.network.diagram_layout import Layout, layout

MIN_SCALE, MAX_SCALE, STEP = 0.05, 5.0, 1.2

__all__ = ["DiagramView", "FAMILY_COLOURS", "BoxItem"]


class DiagramView(QGraphicsView):
    """The session's network as a block diagram; click to select, Ctrl+wheel to zoom."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setScene(QGraphicsScene(self))
        self.scene().setItemIndexMethod(QGraphicsScene.NoIndex)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setBackgroundBrush(QColor("#ffffff"))
        self.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
        self._bold = QFont(self.font())
        self._bold.setPointSizeF(9.0)
        self._bold.setBold(True)
        self._plain = QFont(self._bold)
        self._plain.setBold(False)
        self._metrics = (QFontMetricsF(self._plain), QFontMetricsF(self._bold))
        self.layout: Layout | None = None
        self.items_by_path: dict[str, list[QGraphicsItem]] = {}
        self._press: QPointF | None = None
        self._pending = QTimer(self, singleShot=True, interval=0)
        self._pending.timeout.connect(self.rebuild)
        session.changed.connect(lambda _event: self._pending.start())
        session.analysed.connect(self.rebuild)
        session.projectReplaced.connect(self._on_replaced)
        session.selectionChanged.connect(self.highlight)
        self.rebuild()

    # Building --------------------------------------------------------------------------------
    def measure(self, text: str, bold: bool) -> float:
        return self._metrics[bold].horizontalAdvance(text)

    def rebuild(self) -> None:
        """Lay the network out again and redraw it, keeping the zoom and the selection."""
        self._pending.stop()
        session = self.session
        scene = self.scene()
        scene.clear()
        self.items_by_path = {}
        self.layout = layout(session.network, session.analysis, session.project.inputs, self.measure)
        depth = {}
        for frame in self.layout.frames:
            depth[frame.path] = frame.path.count(".") + 1
            self._add(FrameItem(frame, self._bold, depth[frame.path]))
        for edge in self.layout.edges:
            scene.addItem(EdgeItem(edge))
        for x, y in self.layout.dots:
            scene.addItem(DotItem(x, y))
        fonts = (self._bold, self._plain)
        for box in self.layout.boxes:
            self._add(BoxItem(box, fonts))
        scene.setSceneRect(QRectF(0, 0, self.layout.width, self.layout.height))
        self.highlight(session.selected, scroll=False)

    def _add(self, item) -> None:
        self.scene().addItem(item)
        if item.path is not None:
            self.items_by_path.setdefault(item.path, []).append(item)

    def _on_replaced(self) -> None:
        self.rebuild()
        self.resetTransform()
        self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def box_item(self, path: str) -> BoxItem | None:
        """The box drawn for a module (a leaf layer, or a block's join node)."""
        return next((i for i in self.items_by_path.get(path, ()) if isinstance(i, BoxItem)), None)

    def frame_item(self, path: str) -> FrameItem | None:
        return next((i for i in self.items_by_path.get(path, ()) if isinstance(i, FrameItem)), None)

    def edge_items(self, kind: str | None = None) -> list[EdgeItem]:
        return [i for i in self.scene().items() if isinstance(i, EdgeItem) and (kind is None or i.kind == kind)]

    # Selection -------------------------------------------------------------------------------
    def highlight(self, path: str, scroll: bool = True) -> None:
        for items in self.items_by_path.values():
            for item in items:
                if item.selected:
                    item.selected = False
                    item.update()
        # A module drawn inside another's box (a TransformerEncoder's layer): its nearest
        # drawn ancestor stands in for it.
        while path and path not in self.items_by_path:
            path = path.rpartition(".")[0]
        chosen = self.items_by_path.get(path, []) if path else []
        for item in chosen:
            item.selected = True
            item.update()
        if chosen and scroll:
            target = chosen[0]
            bounds = target.sceneBoundingRect()
            if not self.mapToScene(self.viewport().rect()).boundingRect().contains(bounds):
                self.centerOn(target)
            self.ensureVisible(bounds, 20, 20)

    def item_path_at(self, pos) -> str | None:
        for item in self.items(pos):
            if isinstance(item, (BoxItem, FrameItem)) and item.path is not None:
                return item.path
        return None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self._press = event.position()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton and self._press is not None:
            moved = (event.position() - self._press).manhattanLength()
            self._press = None
            if moved <= 4:  # a click, not the end of a pan
                path = self.item_path_at(event.position().toPoint())
                if path is not None:
                    self.session.select(path)

    # Zoom ------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(MAX_SCALE, max(MIN_SCALE, factor))
        self.scale(factor / self.zoom, factor / self.zoom)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / STEP)

    def fit(self) -> None:
        """The whole diagram in view, never magnified past 100%."""
        self.fitInView(self.sceneRect(), Qt.KeepAspectRatio)
        if self.zoom > 1.0:
            self.set_zoom(1.0)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_zoom(self.zoom * STEP**steps)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.modifiers() & Qt.ControlModifier:
            key = event.key()
            if key in (Qt.Key_Equal, Qt.Key_Plus) or event.matches(QKeySequence.ZoomIn):
                self.zoom_in()
                return
            if key in (Qt.Key_Minus, Qt.Key_Underscore) or event.matches(QKeySequence.ZoomOut):
                self.zoom_out()
                return
            if key == Qt.Key_0:
                self.fit()
                return
        super().keyPressEvent(event)

    # Export ----------------------------------------------------------------------------------
    def _render(self, painter: QPainter, target: QRectF) -> None:
        painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.scene().render(painter, target, self.sceneRect())

    def export_png(self, path, scale: float = 2.0) -> Path:
        """The whole diagram as a PNG, ``scale`` pixels per scene unit; OSError names the path."""
        rect = self.sceneRect()
        size = QSize(max(1, math.ceil(rect.width() * scale)), max(1, math.ceil(rect.height() * scale)))
        image = QImage(size, QImage.Format_ARGB32)
        if image.isNull():
            raise OSError(f"cannot write {path}: the image ({size.width()} x {size.height()}) is too large")
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        self._render(painter, QRectF(0, 0, size.width(), size.height()))
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise OSError(f"cannot write {path}: PNG encoding failed")
        buffer.close()
        return _write(path, bytes(data))

    def export_svg(self, path) -> Path:
        """The whole diagram as SVG (vector text and shapes); OSError names the path."""
        rect = self.sceneRect()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(QSize(math.ceil(rect.width()), math.ceil(rect.height())))
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle(self.session.project.name or "network")
        generator.setDescription("nnstudio block diagram")
        painter = QPainter(generator)
        self._render(painter, QRectF(0, 0, rect.width(), rect.height()))
        painter.end()
        buffer.close()
        return _write(path, bytes(data))


def _write(path, data: bytes) -> Path:
    target = Path(path)
    try:
        target.write_bytes(data)
    except OSError as error:
        raise OSError(error.errno, f"cannot write {target}: {error.strerror or error}", str(target)) from error
    return target
