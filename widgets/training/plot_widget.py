"""One live plot's widget: white, light axes and ticks, and its legend in a row above the data.

The legend takes the place of a title (row 0 of the PlotItem's layout), so it never covers a
curve whatever the data does; entries go side by side, wrapping to more rows in a narrow plot.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QToolButton, QWidget

FOREGROUND = "#333333"
AXIS_WIDTH = 58  # the same for every plot, so x-linked plots stacked in a column line up
LEGEND_SPACING = 12  # between entries side by side


def make_plot(parent: QWidget, label: str, object_name: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(parent, background="w")  # a child from the start: never a window
    widget.setObjectName(object_name)
    item = widget.getPlotItem()
    item.showGrid(x=False, y=True, alpha=0.15)
    item.setContentsMargins(2, 4, 6, 2)
    tick_font = QFont()
    tick_font.setPointSizeF(8)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(FOREGROUND)
        axis.setTextPen(FOREGROUND)
        axis.setTickFont(tick_font)
        axis.setStyle(maxTickLevel=1)  # no third level of faint grid lines: cleaner, and cheaper to paint
        axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # ticks and grid: redrawn when the view moves
    item.getAxis("left").setWidth(AXIS_WIDTH)
    item.getAxis("left").enableAutoSIPrefix(False)  # "learning rate (x0.001)" reads worse than 0.05
    item.setLabel("left", label, color=FOREGROUND, **{"font-size": "9pt"})
    legend = pg.LegendItem(
        offset=None, labelTextColor=FOREGROUND, labelTextSize="8pt", verSpacing=-6, horSpacing=LEGEND_SPACING
    )
    legend.setObjectName(f"{object_name}Legend")
    legend.setMinimumWidth(0)  # in a very narrow plot the legend is cut, never the plot widened past its view
    legend.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    item.layout.removeItem(item.titleLabel)
    item.titleLabel.hide()
    item.layout.addItem(legend, 0, 1, Qt.AlignLeft)
    item.legend = legend
    return widget


def show_legend(item: pg.PlotItem, entries: list[tuple[pg.GraphicsObject, str]]) -> None:
    """Show exactly these (curve, name) entries in the row above ``item``'s data."""
    legend = item.legend
    legend.clear()
    for curve, name in entries:
        legend.addItem(curve, name)
    for sample, text in legend.items:
        sample.setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # painted again only when changed
        text.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    fit_legend(item)


def fit_legend(item: pg.PlotItem) -> None:
    """As many entries side by side as the plot's width holds (at least one), the row as tall as
    the legend: a legend wider than its plot would push the data out of view."""
    legend = item.legend
    entries = len(legend.items)
    widest = max(
        (sample.boundingRect().width() + text.boundingRect().width() for sample, text in legend.items), default=0
    )
    room = item.width() - AXIS_WIDTH - 12
    columns = max(1, min(entries, int(room // (widest + LEGEND_SPACING)) if widest else 1))
    if columns != legend.columnCount:
        legend.setColumnCount(columns)
    legend.updateSize()
    item.layout.setRowFixedHeight(0, legend.height() if entries else 0)
    item.layout.activate()  # place it now: updateSize moved it to the corner, over the data


def tool_button(text: str, name: str, slot) -> QToolButton:
    """A compact button for a plot's toolbar (a push button's minimum width is about twice this)."""
    button = QToolButton(objectName=name, text=text)
    button.setToolButtonStyle(Qt.ToolButtonTextOnly)
    button.clicked.connect(slot)
    return button
