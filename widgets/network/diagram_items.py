"""The painted items of the block diagram: layer boxes, container frames, arrows and join dots."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from widgets.network.diagram_layout import PAD_X, PILL_PAD_X, Box, Edge, Frame

# Soft fills per catalog family (app.network.catalog.FAMILIES); borders are a darker shade of the same.
FAMILY_COLOURS: dict[str, str] = {
    "containers": "#eceff1",
    "glue": "#e0e0e0",
    "linear": "#bbdefb",
    "convolution": "#c8e6c9",
    "pooling": "#b2dfdb",
    "normalization": "#fff9c4",
    "dropout": "#f5f5f5",
    "activation": "#ffe0b2",
    "recurrent": "#d1c4e9",
    "embedding": "#f8bbd0",
    "attention": "#e1bee7",
    "shape": "#cfd8dc",
    "loss": "#ffcdd2",
}
DEFAULT_COLOUR = "#eeeeee"
SELECTED = QColor("#1e64dc")
FAILED = QColor("#d32f2f")
TEXT = QColor("#212121")
MUTED = QColor("#616161")
EDGE = QColor("#546e7a")
SKIP = QColor("#6a5acd")


def family_colour(family: str) -> QColor:
    return QColor(FAMILY_COLOURS.get(family, DEFAULT_COLOUR))


class BoxItem(QGraphicsItem):
    """One layer (or pill, join or input / output) with its text, painted in one go."""

    def __init__(self, box: Box, fonts: tuple[QFont, QFont]) -> None:
        super().__init__()
        self.box = box
        self.path = box.path
        self.selected = False
        self._bold, self._plain = fonts
        self.setPos(box.x, box.y)
        self.setZValue(2)
        if box.path is not None:
            self.setCursor(Qt.PointingHandCursor)
        tip = [f"{box.path or '(root)'}: {box.title}"] if box.path is not None and box.kind != "join" else []
        if box.message:
            tip.append(box.message)
        if tip:
            self.setToolTip("\n".join(tip))

    @property
    def failed(self) -> bool:
        return self.box.failed

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, self.box.w + 4, self.box.h + 4)

    def border_pen(self) -> QPen:
        if self.selected:
            return QPen(SELECTED, 3.0)
        if self.box.failed:
            return QPen(FAILED, 2.5)
        colour = family_colour(self.box.family).darker(150) if self.box.kind == "layer" else EDGE
        pen = QPen(colour, 1.2)
        if self.box.kind == "empty":
            pen.setStyle(Qt.DashLine)
        return pen

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        b = self.box
        rect = QRectF(0, 0, b.w, b.h)
        painter.setPen(self.border_pen())
        if b.kind == "join":
            painter.setBrush(QColor("#ffffff"))
            painter.drawEllipse(rect)
            painter.setFont(self._bold)
            painter.setPen(TEXT)
            painter.drawText(rect, Qt.AlignCenter, b.title)
            return
        if b.status == "not computed":
            painter.setOpacity(0.55)  # never reached: the forward stopped before it
        fill = family_colour(b.family) if b.kind in ("layer", "pill") else QColor("#fafafa")
        painter.setBrush(fill)
        radius = b.h / 2 if b.kind in ("pill", "io", "empty") else 8.0
        painter.drawRoundedRect(rect, radius, radius)
        pad = PAD_X if b.kind == "layer" else PILL_PAD_X
        inset = rect.adjusted(pad, 4, -pad, -4)
        if b.kind in ("io", "empty"):
            self._line(painter, inset, b.title, b.shape, Qt.AlignVCenter)
            return
        lines = 2 if b.kind == "pill" else 3
        step = inset.height() / lines
        first = QRectF(inset.left(), inset.top(), inset.width(), step)
        self._line(painter, first, b.title, b.name, Qt.AlignVCenter)
        painter.setFont(self._plain)
        painter.setPen(TEXT)
        painter.drawText(first.translated(0, step), Qt.AlignLeft | Qt.AlignVCenter, b.shape)
        if b.kind == "layer":
            painter.setPen(MUTED)
            painter.drawText(first.translated(0, 2 * step), Qt.AlignLeft | Qt.AlignVCenter, b.params)

    def _line(self, painter: QPainter, rect: QRectF, bold: str, rest: str, valign) -> None:
        painter.setFont(self._bold)
        painter.setPen(TEXT)
        painter.drawText(rect, Qt.AlignLeft | valign, bold)
        painter.setFont(self._plain)
        painter.setPen(MUTED)
        painter.drawText(rect, Qt.AlignRight | valign, rest)


class FrameItem(QGraphicsItem):
    """A container's translucent frame with its label in the top-left corner."""

    def __init__(self, frame: Frame, font: QFont, depth: int) -> None:
        super().__init__()
        self.frame = frame
        self.path = frame.path
        self.selected = False
        self._font = font
        self.setPos(frame.x, frame.y)
        self.setZValue(-10 + min(depth, 9))
        tip = f"{frame.path}: {frame.type}"
        self.setToolTip(f"{tip}\n{frame.message}" if frame.message else tip)

    @property
    def failed(self) -> bool:
        return self.frame.status == "failed"

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, self.frame.w + 4, self.frame.h + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        f = self.frame
        colour = QColor("#90a4ae") if f.type != "Residual" and f.type != "Parallel" else QColor("#9575cd")
        fill = QColor(colour)
        fill.setAlpha(28)
        if self.selected:
            pen = QPen(SELECTED, 2.5)
        else:
            pen = QPen(FAILED if self.failed else colour, 2.0 if self.failed else 1.0, Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(0, 0, f.w, f.h), 10, 10)
        painter.setFont(self._font)
        painter.setPen(colour.darker(160))
        painter.drawText(QRectF(f.label_x, 2, f.w - f.label_x, 18), Qt.AlignLeft | Qt.AlignVCenter, f.label)


class EdgeItem(QGraphicsItem):
    """A polyline with an arrowhead at its end; ``kind`` is flow, skip or branch."""

    HEAD = 7.0

    def __init__(self, edge: Edge) -> None:
        super().__init__()
        self.edge = edge
        self.kind = edge.kind
        self.setZValue(1)
        points = [QPointF(x, y) for x, y in edge.points]
        self._line = QPainterPath(points[0])
        for point in points[1:]:
            self._line.lineTo(point)
        self._head = QPolygonF()
        if edge.arrow and len(points) >= 2:
            tip, before = points[-1], points[-2]
            angle = math.atan2(tip.y() - before.y(), tip.x() - before.x())
            for turn in (math.pi - 0.45, math.pi + 0.45):
                self._head.append(tip + QPointF(math.cos(angle + turn), math.sin(angle + turn)) * self.HEAD)
            self._head.insert(1, tip)
        self._bounds = self._line.boundingRect().united(self._head.boundingRect()).adjusted(-4, -4, 4, 4)

    def path(self) -> QPainterPath:
        return self._line

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colour = SKIP if self.kind == "skip" else EDGE
        pen = QPen(colour, 1.6)
        pen.setJoinStyle(Qt.RoundJoin)
        if self.kind == "skip":
            pen.setStyle(Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self._line)
        if not self._head.isEmpty():
            painter.setPen(Qt.NoPen)
            painter.setBrush(colour)
            painter.drawPolygon(self._head)


class DotItem(QGraphicsItem):
    """A fork point: where a residual's skip or a Parallel's branches leave the main line."""

    R = 3.5

    def __init__(self, x: float, y: float) -> None:
        super().__init__()
        self.setPos(x, y)
        self.setZValue(3)

    def boundingRect(self) -> QRectF:
        return QRectF(-self.R - 1, -self.R - 1, 2 * self.R + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(Qt.NoPen)
        painter.setBrush(EDGE)
        painter.drawEllipse(QPointF(0, 0), self.R, self.R)
