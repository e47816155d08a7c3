"""How long the parameters tree takes to open on a model with 10,000 parameter tensors.

``python -m widgets.bench.tree`` (or ``nnstudio bench tree``) prints ``{"tensors": 10000,
"open_s": ...}``: the time from constructing the panel to the tree's first paint (offscreen),
the model already built.
"""

from __future__ import annotations

import json
import os
import time


def bench_tree(layers: int = 5000) -> dict:
    """Time to first paint, after one warm-up on a tiny model: the first window a process shows
    pays once for fonts, styles and pyqtgraph's set-up, which is not the tree's cost."""
    _open(2)
    return _open(layers)


def _open(layers: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.network.inputs import InputSpec
    from app.network.spec import container, layer
    from app.project.project_file import Project
    from widgets.inspect.parameters_panel import ParametersPanel
    from widgets.session import Session

    app = QApplication.instance() or QApplication([])
    network = container("Sequential", *(layer("Linear", in_features=4, out_features=4) for _ in range(layers)))
    session = Session(Project(network, [InputSpec([1, 4])], name="bench"))
    model = session.model()  # built before timing: the tree is measured, not the model
    tensors = sum(1 for _ in model.parameters())

    painted: list[float] = []

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Paint and not painted:
                painted.append(time.perf_counter())
            return False

    start = time.perf_counter()
    panel = ParametersPanel(session)
    watcher = FirstPaint()
    panel.tree.viewport().installEventFilter(watcher)
    panel.resize(1000, 700)
    panel.show()
    deadline = time.perf_counter() + 10
    while not painted and time.perf_counter() < deadline:
        app.processEvents()
    open_s = (painted[0] if painted else time.perf_counter()) - start
    rows = panel.model.rowCount()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return {"tensors": tensors, "open_s": round(open_s, 4), "rows_listed": rows, "painted": bool(painted)}


if __name__ == "__main__":
    print(json.dumps(bench_tree()))
