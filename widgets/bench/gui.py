"""``nnstudio bench gui``: training in the real window against training headless, in one process.

The CNN example trains in the main window (offscreen) with every leaf module probed, while a
5 ms precise timer on the GUI thread records how late each of its ticks comes: a stall is the
lateness beyond the interval, so any work that holds the GUI thread (drawing, the GIL held by
the worker) shows up. The same project also trains headless (the engine alone, same probes) on a
worker thread as the window's run is (the GUI thread keeps torch to one thread; see
widgets.threads). ``ROUNDS`` window runs alternate with headless ones (one more, first);
``train_ratio`` is the median window samples/s over the median headless one: single runs on
this shared machine vary by about 10%. Stalls are pooled over the window runs; ``refresh_hz``
(the median run's) is how often the window drew new training data. The example trains for
``EPOCHS`` (about 5 s here): its own single epoch lasts well under a second,
too short for a steady state or a p99 of the timer's ticks to mean anything.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "cnn.nnproj"
TICK_MS = 5
EPOCHS = 10
ROUNDS = 3


def _project():
    from app.project.project_file import load_project
    from app.training.prepare import make_model

    project = load_project(EXAMPLE)
    project.training = {**project.training, "epochs": EPOCHS}
    leaves = [path for path, module in make_model(project).named_modules() if path and not list(module.children())]
    project.probes = {"modules": leaves, "every": project.probes.get("every", 10)}
    return project


def _headless(project) -> float:
    """Samples per second of the engine alone, with the same probes, on a worker thread as in
    the window (the GUI thread keeps torch to one thread: see widgets.threads)."""
    import threading

    result: list = []
    worker = threading.Thread(target=lambda: result.append(_engine_alone(project)))
    worker.start()
    worker.join()
    return result[0]


def _engine_alone(project) -> float:
    from widgets.threads import worker_threads

    worker_threads()
    from app.training.engine import Engine
    from app.training.events import Finished
    from app.training.prepare import prepare
    from app.training.probes import ProbeSet

    setup = prepare(project)
    probes = ProbeSet(setup.core, project.probes["modules"], every=project.probes["every"])
    for event in Engine(setup, probes=probes).run():
        if isinstance(event, Finished):
            return len(setup.batches.indices(0)) * setup.config.epochs / event.elapsed_s
    raise RuntimeError("the headless run did not finish")


def _window(project) -> tuple[list[float], float, float]:
    """Stalls (ms), redraws per second and samples per second of a run in the main window."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.training.events import Finished
    from widgets.main_window import MainWindow
    from widgets.session import Session

    app = QApplication.instance() or QApplication([])
    window = MainWindow(Session(project, EXAMPLE), persist_layout=False)
    window.resize(1500, 950)
    window.show()
    window.tabs.setCurrentWidget(window.training)
    window.training.panel.wait_for_preview()
    app.processEvents()
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - TICK_MS))
        last[0] = now

    timer = QTimer(timerType=Qt.PreciseTimer, interval=TICK_MS)
    timer.timeout.connect(tick)
    ended: list = []
    controller = window.training.controller
    loop = QEventLoop()
    controller.runEnded.connect(ended.append)
    controller.runEnded.connect(loop.quit)
    timer.start()
    began = time.perf_counter()
    if not window.training.panel.start():
        raise RuntimeError(window.training.panel.message.text())
    loop.exec()  # the app's own event loop, as a user's window runs
    wall = time.perf_counter() - began
    timer.stop()
    final = ended[0]
    if not isinstance(final, Finished):
        raise RuntimeError(f"the window's run ended early: {final}")
    samples = controller.started_event.samples * controller.started_event.epochs / final.elapsed_s
    refresh_hz = controller.ticks / wall
    window.session.weights_unsaved = False
    window.close()
    return lateness[1:], refresh_hz, samples


def bench_gui(rounds: int = ROUNDS) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from widgets.threads import serial_gui_thread

    serial_gui_thread()
    project = _project()
    _headless(_project())  # warm-up: first calls, allocator, kernels
    headless_rates = [_headless(project)]
    stalls: list[float] = []
    refreshes: list[float] = []
    window_rates: list[float] = []
    for _ in range(rounds):  # window and headless runs alternate: a busy shared machine slows both alike
        run_stalls, refresh_hz, window_rate = _window(_project())
        stalls += run_stalls
        refreshes.append(refresh_hz)
        window_rates.append(window_rate)
        headless_rates.append(_headless(_project()))
    window_rate, headless_rate = statistics.median(window_rates), statistics.median(headless_rates)
    ordered = sorted(stalls)
    return {
        "stall_p50_ms": round(statistics.median(ordered), 2),
        "stall_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "stall_max_ms": round(ordered[-1], 2),
        "refresh_hz": round(statistics.median(refreshes), 1),
        "train_ratio": round(window_rate / headless_rate, 3),
        "window_samples_per_s": round(window_rate, 1),
        "headless_samples_per_s": round(headless_rate, 1),
        "window_runs_samples_per_s": [round(rate, 1) for rate in window_rates],
        "headless_runs_samples_per_s": [round(rate, 1) for rate in headless_rates],
        "probed_modules": len(project.probes["modules"]),
        "epochs": EPOCHS,
        "timer_ticks": len(stalls),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(bench_gui()))
