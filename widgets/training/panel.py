"""The training panel: the training section, Start / Pause / Stop / Evaluate, progress, messages,
and a look at the data (a preview, or the live decision boundary for 2-D classification)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.data.loading import load_data
from app.errors import NNStudioError
from app.setup.optim import assign_groups
from app.setup.schedulers import parse_scheduler
from app.setup.training_section import parse_training
from app.training.events import Failed, Finished, Started, Step, Stopped
from app.training.live_run import BoundaryUpdate
from app.training.prepare import optimizer_config
from widgets.threads import FunctionThread
from widgets.training.boundary_view import BoundaryView
from widgets.training.controller import TrainingController
from widgets.training.data_preview import DataPreview
from widgets.training.form import TrainingForm

PREVIEW_DELAY_MS = 250
# Text that changes makes the window repaint; on a machine whose cores all train, every repaint
# takes a core from torch's threads (measured: progress and rate at 30 Hz cost the CNN a third
# of its speed). Numbers a person reads do not need more than a few updates a second.
PROGRESS_EVERY_S = 0.25  # after the last edit, the data is generated again for the preview


class TrainingPanel(QWidget):
    def __init__(self, session, controller: TrainingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.controller = controller
        self.form = TrainingForm(session)
        self.optimizer_line = QLabel(objectName="optimizerLine", wordWrap=True)
        self.optimizer_line.setProperty("role", "caption")
        self.start_button = QPushButton("Start", objectName="startButton", toolTip="Start training (F5)")
        self.pause_button = QPushButton("Pause", objectName="pauseButton", toolTip="Pause or resume (F6)")
        self.stop_button = QPushButton("Stop", objectName="stopButton", toolTip="Stop after this step (Shift+F5)")
        self.evaluate_button = QPushButton(
            "Evaluate",
            objectName="evaluateButton",
            toolTip="One pass over the validation data in the current train/eval mode (F7)",
        )
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(controller.stop)
        self.evaluate_button.clicked.connect(controller.evaluate)
        self.tensorboard = QCheckBox(
            "TensorBoard events in",
            objectName="tensorboardCheck",
            toolTip="Also write the run's scalars and probe histograms as TensorBoard "
            'event files (needs: pip install "nnstudio[tensorboard]")',
        )
        self.tensorboard_dir = QLineEdit(objectName="tensorboardDir", placeholderText="runs/tensorboard")
        self.progress = QProgressBar(objectName="trainingProgress", textVisible=True)
        self.progress.setFormat("ready")
        self.progress.setValue(0)
        self.rate = QLabel(objectName="trainingRate")
        self.rate.setProperty("role", "caption")
        # its text changes 30 times a second: a label that could ask for another size would make
        # the whole panel (and the data preview under it) lay out and repaint every time
        self.rate.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.progress.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.message = QLabel(objectName="trainingMessage", wordWrap=True)
        self.preview = DataPreview()
        self.boundary = BoundaryView()
        self.data_view = QStackedWidget(objectName="dataView")
        self.data_view.addWidget(self.preview)
        self.data_view.addWidget(self.boundary)
        self.data_view.setMinimumHeight(260)
        self._layout()

        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.load_preview)
        self._preview_job: FunctionThread | None = None
        self._total_steps = 0
        self._progress_shown = 0.0
        self.boundary_data = None  # the data when it is 2-D classification: the boundary is drawn
        controller.stateChanged.connect(self._show_state)
        controller.eventsArrived.connect(self.show_events)
        controller.runEnded.connect(self._show_end)
        controller.failedToStart.connect(lambda text: self._say(text, error=True))
        controller.evaluated.connect(self._show_evaluation)
        session.changed.connect(self._on_changed)
        session.projectReplaced.connect(self._on_replaced)
        session.analysed.connect(self._show_optimizer)  # the groups depend on the network
        self._show_state("idle")
        self._show_optimizer()
        self._preview_timer.start()

    def _layout(self) -> None:
        settings = QGroupBox("Data and loss")
        QVBoxLayout(settings).addWidget(self.form)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.evaluate_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(settings)
        layout.addWidget(self.optimizer_line)
        logging = QHBoxLayout()
        logging.addWidget(self.tensorboard)
        logging.addWidget(self.tensorboard_dir, 1)
        layout.addLayout(logging)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        layout.addWidget(self.message)
        layout.addWidget(self.data_view, 1)

    # Controls --------------------------------------------------------------------------------
    def start(self) -> bool:
        if not self.form.ensure_section():
            return False
        self._say("")
        return self.controller.start(self.tensorboard_folder())

    def tensorboard_folder(self) -> str | None:
        """Where the run writes TensorBoard events (beside the project), or None when not asked."""
        if not self.tensorboard.isChecked():
            return None
        text = self.tensorboard_dir.text().strip() or self.tensorboard_dir.placeholderText()
        path = Path(text).expanduser()
        if not path.is_absolute() and self.session.path is not None:
            path = self.session.path.parent / path
        return str(path)

    def toggle_pause(self) -> None:
        if self.controller.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def _show_state(self, state: str) -> None:
        idle = state == "idle"
        self.start_button.setEnabled(idle)
        self.evaluate_button.setEnabled(idle)
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("running", "paused"))
        focused = self.focusWidget()
        self.form.setEnabled(idle)
        self.tensorboard.setEnabled(idle)
        self.tensorboard_dir.setEnabled(idle)
        if focused is not None and not focused.isEnabled():  # keep the keyboard (F5, F6 ...) in the window
            (self.start_button if idle else self.pause_button).setFocus()
        if state == "paused":
            self.progress.setFormat(self.progress.format().split(" · paused")[0] + " · paused")
        elif state == "stopping":
            self._say("stopping after the current step ...")

    # Events from the run ---------------------------------------------------------------------
    def show_events(self, events: list) -> None:
        boundary = None
        for event in events:
            if isinstance(event, Started):
                self._total_steps = event.epochs * event.steps_per_epoch
                self.progress.setRange(0, max(1, self._total_steps))
                self.data_view.setCurrentWidget(self.boundary if self.boundary_data is not None else self.preview)
            elif isinstance(event, BoundaryUpdate):
                boundary = event
        last = self.controller.last_step
        now = time.monotonic()
        if last is not None and now - self._progress_shown >= PROGRESS_EVERY_S:
            self._progress_shown = now
            self._show_progress(last)
        if boundary is not None:
            self.boundary.set_prediction(boundary.image, step=boundary.step)

    def _show_progress(self, step: Step) -> None:
        started = self.controller.started_event
        epochs = started.epochs if started else 0
        self.progress.setValue(min(step.step, self.progress.maximum()))
        left = self._total_steps - step.step
        done_here = step.step - (started.start_step if started else 0)
        eta = step.elapsed_s / done_here * left if done_here > 0 else 0.0
        paused = " · paused" if self.controller.state == "paused" else ""
        self.progress.setFormat(f"epoch {step.epoch + 1}/{epochs} · step {step.step}/{self._total_steps}{paused}")
        self.rate.setText(f"{step.samples_per_s:,.0f} samples/s · loss {step.loss:.4g} · ETA {_duration(eta)}")

    def _show_end(self, final) -> None:
        last = self.controller.last_step
        if last is not None:
            self._show_progress(last)  # the latest numbers, whenever they were last shown
        if isinstance(final, Finished):
            loss = f"; last loss {last.loss:.4g}" if last else ""
            self.progress.setFormat(f"finished · {final.step} steps in {_duration(final.elapsed_s)}")
            self.progress.setValue(self.progress.maximum())
            self._say(
                f"Finished {final.epoch} epochs ({final.step} steps){loss}. The trained weights are in the "
                "project: Save keeps them."
            )
        elif isinstance(final, Stopped):
            self.progress.setFormat(f"stopped at step {final.step}")
            if final.reason == "nonfinite":
                self._say(final.message, error=True)
            else:
                self._say(f"Stopped after step {final.step}; the weights so far are kept (Save writes them).")
        elif isinstance(final, Failed):
            self.progress.setFormat(f"failed at step {final.step + 1}")
            self._say(f"The run failed: {final.message}. The weights from before the failure are kept.", error=True)
            self.message.setToolTip(final.traceback)

    def _show_evaluation(self, result) -> None:
        if isinstance(result, str):
            self._say(f"Cannot evaluate: {result}", error=True)
            return
        accuracy = f", accuracy {result.accuracy:.1%}" if result.accuracy is not None else ""
        mode = "train" if result.training else "eval"
        self._say(
            f"Evaluation in {mode} mode: loss {result.loss:.4g}{accuracy} on {result.samples:,} {result.split} samples."
        )

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setToolTip("")
        self.message.setProperty("role", "error" if error else "")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    # The project changed ---------------------------------------------------------------------
    def _on_changed(self, event) -> None:
        self._show_optimizer()
        if event.section == "training":
            self._preview_timer.start()

    def _on_replaced(self) -> None:
        self._say("")
        self.progress.setFormat("ready")
        self.progress.setValue(0)
        self.rate.clear()
        self._show_optimizer()
        self._preview_timer.start()

    def _show_optimizer(self) -> None:
        project = self.session.project
        try:
            config = optimizer_config(project)
            scheduler = parse_scheduler(project.scheduler)
        except NNStudioError as error:
            self.optimizer_line.setText(f"Optimizer: {error}")
            return
        hyper = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.defaults.items())
        groups = ""
        model = self.session.meta_model
        if config.groups and model is not None:  # the groups torch builds: an empty default group is left out
            count = sum(1 for names in assign_groups(model, config).names if names)
            groups = f" · {count} parameter group{'' if count == 1 else 's'}"
        schedule = f" · {scheduler.type}" if scheduler is not None else " · no scheduler"
        self.optimizer_line.setText(f"Optimizer: {config.type}({hyper}){groups}{schedule} (Optimizer tab to change)")

    # The data --------------------------------------------------------------------------------
    def load_preview(self) -> None:
        """Generate (or read) the data on a worker thread; a later edit asks again."""
        if self._preview_job is not None:
            self._preview_timer.start()
            return
        project = self.session.project
        try:
            config = parse_training(project.training or self.form.training())
        except NNStudioError as error:
            self.preview.show_error(str(error))
            return
        base = project.path.parent if project.path is not None else None
        self._preview_job = FunctionThread(lambda: load_data(config.dataset, config.val_split, base), self)
        self._preview_job.finished.connect(self._preview_loaded)
        self._preview_job.start()

    def _preview_loaded(self) -> None:
        job, self._preview_job = self._preview_job, None
        if job is None:  # already taken by wait_for_preview
            return
        job.wait()
        if job.error is not None:
            self.preview.show_error(str(job.error))
            self.boundary.clear()
            self.boundary_data = None
            self.data_view.setCurrentWidget(self.preview)
            return
        data = job.result
        self.preview.show_data(data)
        two_d = data.task == "classification" and tuple(data.sample_shape) == (2,)
        self.boundary.clear()
        self.boundary_data = data if two_d else None
        if two_d:
            self.boundary.set_data(data)
        self.data_view.setCurrentWidget(self.boundary if two_d else self.preview)

    def wait_for_preview(self) -> None:
        """For tests and closing: let a preview being generated (or about to be) finish."""
        if self._preview_timer.isActive():
            self._preview_timer.stop()
            self.load_preview()
        if self._preview_job is not None:
            self._preview_job.wait()
            self._preview_loaded()


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
