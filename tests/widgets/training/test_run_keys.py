"""F5 / F6 / Shift+F5 / F7 start, pause, stop and evaluate from anywhere in the window: the keys
go to the main window (with the focus wherever a user left it), never to a button."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.widgets.training.test_training import RUN_TIMEOUT_MS, spirals, steps_done


def focus_places(win):
    """Where a user's focus may be when they press a run key: the tree, a form field, a plot."""
    return {
        "network tree": win.network_view,
        "epochs field": win.training.panel.form.epochs,
        "layer search": win.palette_panel.search,
        "plots": win.training.plots,
    }


@pytest.mark.parametrize("place", ["network tree", "epochs field", "layer search", "plots"])
def test_the_run_keys_work_with_the_focus_anywhere(qtbot, window, place):
    win = window(spirals(epochs=200))
    controller = win.training.controller
    widget = focus_places(win)[place]
    on_training_tab = win.training.isAncestorOf(widget)
    win.tabs.setCurrentWidget(win.training if on_training_tab else win.diagram)  # else not on it at all
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)

    qtbot.keyClick(win, Qt.Key_F5)  # Start
    qtbot.waitUntil(lambda: steps_done(win) >= 1, timeout=RUN_TIMEOUT_MS)
    assert win.tabs.currentWidget() is win.training
    widget.setFocus()
    with qtbot.waitSignal(controller.stateChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda s: s == "paused"):
        qtbot.keyClick(win, Qt.Key_F6)  # Pause
    with qtbot.waitSignal(controller.stateChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda s: s == "running"):
        qtbot.keyClick(win, Qt.Key_F6)  # Resume
    with qtbot.waitSignal(controller.runEnded, timeout=RUN_TIMEOUT_MS):
        qtbot.keyClick(win, Qt.Key_F5, Qt.ShiftModifier)  # Stop
    with qtbot.waitSignal(controller.evaluated, timeout=RUN_TIMEOUT_MS):
        qtbot.keyClick(win, Qt.Key_F7)  # Evaluate
    assert win.training.panel.message.text().startswith("Evaluation in train mode")
