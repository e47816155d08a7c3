"""Forms that fit: at the default size and on a 1280 x 800 screen no visible input is squeezed
below its size hint (docks and forms scroll instead), and the network tree's columns fit."""

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QWidget,
)

from tests.widgets.training.test_live_plots import fed_run
from widgets.main_window import DEFAULT_SIZE, MainWindow

INPUTS = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractButton)
SIZES = {"default": DEFAULT_SIZE, "1280x800": (1280, 800)}


def squeezed(root: QWidget) -> list[str]:
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INPUTS) or not widget.isVisible() or widget.objectName().startswith("qt_"):
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
            continue  # a spin box's or combo's own editor: the outer widget is checked
        if widget.height() < widget.sizeHint().height():
            found.append(
                f"{type(widget).__name__} {widget.objectName() or widget.text() if hasattr(widget, 'text') else ''}"
                f" in {type(widget.parent()).__name__}: {widget.height()} < {widget.sizeHint().height()}"
            )
    return found


@pytest.fixture
def window(qtbot, cnn_session):
    def make(size):
        win = MainWindow(cnn_session, persist_layout=False)
        qtbot.addWidget(win)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        win.training.panel.wait_for_preview()
        return win

    return make


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_no_visible_input_is_squeezed_below_its_size_hint(qtbot, window, size):
    win = window(SIZES[size])
    problems = []
    for dock in (win.properties_dock, win.optimizer_dock, win.init_dock):
        dock.raise_()
        for index in range(win.tabs.count()):
            win.tabs.setCurrentIndex(index)
            QApplication.processEvents()  # the tab and dock shown lay out
            problems += [f"{win.tabs.tabText(index)} / {dock.windowTitle()}: {p}" for p in squeezed(win)]
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_network_trees_columns_fit_their_contents_at_the_default_width(window):
    win = window(DEFAULT_SIZE)
    tree = win.network_view
    tree.expandAll()
    QApplication.processEvents()
    header = tree.header()
    assert [header.sectionSize(i) >= header.sectionSizeHint(i) for i in range(header.count())] == [True] * 5
    assert header.length() <= tree.viewport().width()  # the Params and Probe columns in view, not cut off
    assert not tree.horizontalScrollBar().isVisible()


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_the_training_tab_gets_the_width_its_panel_and_plots_need(qtbot, window, size):
    win = window(SIZES[size])
    win.tabs.setCurrentWidget(win.training)
    fed_run(win.training.plots)  # a run's curves, so every legend has its entries
    win.training.plots.refresh()
    QApplication.processEvents()
    assert win.training.width() >= win.training.minimumSizeHint().width()
    for key in ("loss", "accuracy", "lr", "grad norm"):
        plot = win.training.plots.plot(key)
        if plot.isVisible():  # the plot's contents (axes, legend, data) within its widget: nothing cut off
            assert plot.getPlotItem().width() <= plot.viewport().width() + 1, key
