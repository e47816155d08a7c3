"""Runs training for the window: a QThread runs the core's LiveRun, a timer drains its events.

The worker thread never touches a widget. Its events wait in a bounded channel that
:meth:`TrainingController.tick` drains at most 30 times a second and hands, all at once, to the
views through ``eventsArrived``. While a run goes the session refuses edits to the network; the
mode and the probed modules still change, and reach the run between two steps. When the run
ends, for whatever reason, the trained (or last good) weights become the session's model, so a
Save writes them.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QObject, QTimer, Signal

from app.errors import NNStudioError
from app.setup.modes import parse_mode
from app.training.evaluate import evaluate_project
from app.training.events import Failed, Started, Step
from app.training.live_run import LiveRun
from app.training.prepare import prepare
from widgets.threads import FunctionThread

REFRESH_MS = 33  # <= 30 redraws a second
BUSY_REASON = "a training run is going (stop it to change the network)"


def _tensorboard_log(folder: str):
    from app.interop.tensorboard_log import TensorBoardLog, require_tensorboard

    require_tensorboard()  # a missing extra says how to install it, before any work
    return TensorBoardLog(folder)


class TrainingController(QObject):
    stateChanged = Signal(str)  # "idle" | "running" | "paused" | "stopping" | "evaluating"
    eventsArrived = Signal(list)  # everything the worker reported since the last tick
    runEnded = Signal(object)  # the final event: Finished, Stopped or Failed
    failedToStart = Signal(str)  # refused before any thread: no model, a missing TensorBoard extra
    # (data and optimizer problems end the run with a Failed event)
    evaluated = Signal(object)  # an app.training.evaluate.Evaluation, or an error message (str)

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.run: LiveRun | None = None
        self.thread: FunctionThread | None = None
        self.state = "idle"
        self.last_step: Step | None = None
        self.started_event: Started | None = None
        self.ticks = 0
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.tick)
        self._evaluation: FunctionThread | None = None
        session.changed.connect(self._on_session_changed)
        session.run_stopper = self.stop_and_wait

    @property
    def running(self) -> bool:
        return self.thread is not None

    # Starting and controlling ----------------------------------------------------------------
    def start(self, tensorboard_dir: str | None = None) -> bool:
        """Set up a run from the project and the session's current weights, and start it; with
        ``tensorboard_dir`` the run also writes TensorBoard event files there."""
        if self.running or self._evaluation is not None:
            return False
        model = self.session.model()
        if model is None:
            self.failedToStart.emit(str(self.session.build_error or "the network cannot be built"))
            return False
        try:
            log = _tensorboard_log(tensorboard_dir) if tensorboard_dir else None
        except (NNStudioError, OSError) as error:
            self.failedToStart.emit(str(error))
            return False
        project, start_from = copy.deepcopy(self.session.project), copy.deepcopy(model)
        probes = project.probes
        # the data is made on the worker thread: a big dataset never freezes the window
        self.run = LiveRun(
            lambda: prepare(project, model=start_from), probes.get("modules", []), probes.get("every", 10), log=log
        )
        self.last_step, self.started_event = None, None
        self.thread = FunctionThread(self.run.run, self)
        self.thread.finished.connect(self._finish)
        self.session.set_busy(BUSY_REASON)
        self._set_state("running")
        self.thread.start()
        self._timer.start()
        return True

    def pause(self) -> None:
        if self.run is not None and self.state == "running":
            self.run.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.run is not None and self.state == "paused":
            self.run.resume()
            self._set_state("running")

    def stop(self) -> None:
        """Ask the run to stop; it does after the step in progress."""
        if self.run is not None and self.state in ("running", "paused"):
            self.run.stop()
            self._set_state("stopping")

    def stop_and_wait(self) -> None:
        """Stop and wait for the worker (closing the window, opening another project)."""
        if self.thread is None:
            return
        self.stop()
        self.thread.wait()
        self._finish()

    def shutdown(self) -> None:
        """Before the window goes: no run and no evaluation left on a thread."""
        self.stop_and_wait()
        if self._evaluation is not None:
            self._evaluation.wait()
            self._evaluation_done()

    # The timer -------------------------------------------------------------------------------
    def tick(self) -> None:
        if self.run is None:
            return
        events = self.run.channel.drain()
        if not events:
            return
        self.ticks += 1
        for event in events:
            if isinstance(event, Step):
                self.last_step = event
            elif isinstance(event, Started):
                self.started_event = event
        self.eventsArrived.emit(events)

    def _finish(self) -> None:
        """On the GUI thread once the worker has ended (idempotent: a wait may come first)."""
        if self.thread is None:
            return
        self.thread.wait()
        self._timer.stop()
        self.tick()
        run, self.run, self.thread = self.run, None, None
        final = run.final or Failed(0, "the run ended without a result", "")
        if run.engine is not None and run.engine.step > (self.started_event.start_step if self.started_event else 0):
            self.session.set_model(run.setup.core.to("cpu"), trained=True)
        self.session.set_busy("")
        self._set_state("idle")
        self.runEnded.emit(final)

    # Evaluation ------------------------------------------------------------------------------
    def evaluate(self) -> bool:
        """One pass over the validation data in the mode the model is in now, off the GUI thread."""
        if self.running or self._evaluation is not None:
            return False
        model = self.session.model()
        if model is None:
            self.evaluated.emit(str(self.session.build_error or "the network cannot be built"))
            return False
        project = self.session.project
        self._evaluation = FunctionThread(lambda: evaluate_project(project, model), self)
        self._evaluation.finished.connect(self._evaluation_done)
        self.session.set_busy("an evaluation pass is running")
        self._set_state("evaluating")
        self._evaluation.start()
        return True

    def _evaluation_done(self) -> None:
        job, self._evaluation = self._evaluation, None
        job.wait()
        self.session.set_busy("")
        self._set_state("idle")
        error = job.error
        self.evaluated.emit(
            job.result
            if error is None
            else str(error)
            if isinstance(error, NNStudioError)
            else f"{type(error).__name__}: {error}"
        )

    # Live changes ----------------------------------------------------------------------------
    def _on_session_changed(self, event) -> None:
        if self.run is None or event.section not in ("probes", "mode"):
            return
        project = self.session.project
        self.run.set_probe_paths(list(project.probes.get("modules", [])))
        self.run.set_mode(parse_mode(project.mode))

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit(state)
