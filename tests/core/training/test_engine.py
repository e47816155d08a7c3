"""The training engine as a user meets it: the events of a run, reproducibility, exact resume,
stop / pause from the GUI thread, non-finite losses and failures that leave the process alive."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from app.data.loading import Batches
from app.training.checkpoint import load_checkpoint
from app.training.engine import Engine
from app.training.events import Checkpoint, Epoch, Failed, Finished, Started, Step
from app.training.prepare import prepare
from tests.core.engine_helpers import (
    STEPS_PER_EPOCH,
    TRAIN_SIZE,
    assert_same_weights,
    make_project,
    mlp,
    names,
    run_all,
    run_until_step,
    snapshot,
)


def resumable_project(epochs: int = 3):
    """Dropout (RNG), Adam (optimizer state) and StepLR (scheduler state) all matter to a resume.
    The lr halves every 2 epochs, so a scheduler restarted from scratch would not halve it in time."""
    return make_project(
        mlp(dropout=0.3),
        epochs=epochs,
        optimizer={"type": "Adam", "defaults": {"lr": 0.01}},
        scheduler={"type": "StepLR", "args": {"step_size": 2, "gamma": 0.5}},
    )


# The events of a run ------------------------------------------------------------------------------


def test_a_run_reports_started_steps_epochs_finished_in_order():
    setup = prepare(make_project(epochs=3))
    events = run_all(Engine(setup))

    per_epoch = ["Step"] * STEPS_PER_EPOCH + ["Epoch"]
    assert names(events) == ["Started"] + per_epoch * 3 + ["Finished"]
    started = events[0]
    assert (started.epochs, started.steps_per_epoch, started.samples) == (3, STEPS_PER_EPOCH, TRAIN_SIZE)
    assert (started.start_epoch, started.start_step) == (0, 0)
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == list(range(1, 3 * STEPS_PER_EPOCH + 1))
    assert [s.epoch for s in steps] == [e for e in range(3) for _ in range(STEPS_PER_EPOCH)]
    assert [s.batch for s in steps] == list(range(STEPS_PER_EPOCH)) * 3
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert [(e.epoch, e.step) for e in epochs] == [(1, 10), (2, 20), (3, 30)]
    assert all(e.val_loss is not None and e.val_accuracy is not None for e in epochs)
    finished = events[-1]
    assert (finished.step, finished.epoch) == (30, 3)


def test_loss_falls_on_spirals():
    project = make_project(mlp(hidden=32), epochs=6, optimizer={"type": "Adam", "defaults": {"lr": 0.03}})
    epochs = [e for e in run_all(Engine(prepare(project))) if isinstance(e, Epoch)]
    assert epochs[-1].train_loss < 0.8 * epochs[0].train_loss
    assert epochs[-1].val_loss < epochs[0].val_loss


def test_accuracy_is_reported_for_classification_only():
    classified = run_all(Engine(prepare(make_project(epochs=1)), metrics_every=3))
    for event in classified:
        if isinstance(event, Step) and (event.step % 3 == 0 or event.step == 1):
            assert event.accuracy is not None and 0.0 <= event.accuracy <= 1.0
        elif isinstance(event, Step):
            assert event.accuracy is None  # measured every metrics_every steps only
        if isinstance(event, Epoch):
            assert event.train_accuracy is not None and event.val_accuracy is not None

    regression = make_project(
        mlp(n_in=1, n_out=1), n_in=1, epochs=1, dataset={"name": "sine", "size": 200}, loss={"type": "MSELoss"}
    )
    events = run_all(Engine(prepare(regression)))
    assert names(events)[-1] == "Finished"
    steps = [e for e in events if isinstance(e, Step)]
    assert steps and all(s.accuracy is None for s in steps)
    epoch = next(e for e in events if isinstance(e, Epoch))
    assert epoch.train_accuracy is None and epoch.val_accuracy is None
    assert epoch.train_loss is not None and epoch.val_loss is not None


def test_learning_rates_and_gradient_norms_come_per_optimizer_group():
    optimizer = {"type": "SGD", "defaults": {"lr": 0.05}, "groups": [{"select": "0", "lr": 0.2}]}
    setup = prepare(make_project(epochs=1, optimizer=optimizer))
    assert len(setup.optimizer.param_groups) == 2
    events = run_all(Engine(setup))
    assert len(events[0].groups) == 2
    steps = [e for e in events if isinstance(e, Step)]
    for step in steps:
        assert step.lrs == [0.2, 0.05]  # the selected group first, the default group last
    measured = [step for step in steps if step.grad_norms is not None]
    assert [step.step for step in measured] == [1] + list(range(10, len(steps) + 1, 10))
    for step in measured:
        assert len(step.grad_norms) == 2 and all(n > 0 for n in step.grad_norms)
    epoch = next(e for e in events if isinstance(e, Epoch))
    assert epoch.lrs == [0.2, 0.05]


# Reproducibility and exact resume -----------------------------------------------------------------


def test_two_runs_of_the_same_project_give_identical_weights():
    project = resumable_project(epochs=2)
    first, second = prepare(project), prepare(project)
    assert names(run_all(Engine(first)))[-1] == "Finished"
    assert names(run_all(Engine(second)))[-1] == "Finished"
    assert_same_weights(first.core, second.core)


def test_resuming_from_an_epoch_checkpoint_is_exact(tmp_path: Path):
    project = resumable_project()
    straight = prepare(project)
    run_all(Engine(straight))

    first = prepare(project, epochs=1)
    events = run_all(Engine(first, checkpoint_dir=tmp_path))
    checkpoint = next(e for e in events if isinstance(e, Checkpoint))
    assert names(events)[-2:] == ["Checkpoint", "Finished"]
    assert (checkpoint.step, checkpoint.epoch) == (STEPS_PER_EPOCH, 1)

    state, _ = load_checkpoint(Path(checkpoint.path))
    second = prepare(project)
    resumed = run_all(Engine(second, resume=state))
    assert isinstance(resumed[0], Started) and (resumed[0].start_epoch, resumed[0].start_step) == (1, 10)
    steps = [e.step for e in resumed if isinstance(e, Step)]
    assert steps == list(range(STEPS_PER_EPOCH + 1, 3 * STEPS_PER_EPOCH + 1))
    assert isinstance(resumed[-1], Finished) and resumed[-1].step == 3 * STEPS_PER_EPOCH
    assert_same_weights(straight.core, second.core)
    # The scheduler went on from its saved state: the lr was halved after the 2nd epoch.
    assert [e.lrs for e in resumed if isinstance(e, Epoch)] == [[0.005], [0.005]]
    assert second.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"] == 0.005


@pytest.mark.parametrize("k", [4, 13])  # the middle of the first, then of the second epoch
def test_stopping_mid_epoch_and_resuming_is_exact(tmp_path: Path, k: int):
    project = resumable_project()
    straight = prepare(project)
    straight_events = run_all(Engine(straight))
    straight_losses = [e.loss for e in straight_events if isinstance(e, Step)]

    first = prepare(project)
    events = run_until_step(Engine(first, checkpoint_dir=tmp_path), k)
    assert names(events)[-2:] == ["Checkpoint", "Stopped"]
    checkpoint, stopped = events[-2], events[-1]
    assert stopped.reason == "user" and stopped.step == k and checkpoint.step == k

    state, _ = load_checkpoint(Path(checkpoint.path))
    assert (state.step, state.epoch, state.batch) == (k, k // STEPS_PER_EPOCH, k % STEPS_PER_EPOCH)
    second = prepare(project)
    resumed = run_all(Engine(second, resume=state))
    assert isinstance(resumed[-1], Finished)
    losses = [e.loss for e in resumed if isinstance(e, Step)]
    assert losses == straight_losses[k:]  # the same batches, the same dropout masks
    assert_same_weights(straight.core, second.core)


# Stop and pause -----------------------------------------------------------------------------------


@pytest.mark.parametrize("with_checkpoint", [False, True])
def test_stop_from_the_consuming_thread_takes_effect_before_the_next_step(tmp_path: Path, with_checkpoint: bool):
    engine = Engine(prepare(make_project(epochs=3)), checkpoint_dir=tmp_path if with_checkpoint else None)
    events = run_until_step(engine, 3)
    after = names(events)[names(events).index("Step") + 3 :]
    assert after == (["Checkpoint", "Stopped"] if with_checkpoint else ["Stopped"])
    assert events[-1].reason == "user" and events[-1].step == 3
    assert "step 3" in events[-1].message
    assert engine.step == 3


class Worker:
    """Consumes a run in a thread, putting events on a queue. After the Step numbered ``hold_at``
    it waits until the main thread lets it go, so the main thread can act between two steps."""

    def __init__(self, engine: Engine, hold_at: int) -> None:
        self.engine = engine
        self.hold_at = hold_at
        self.events: queue.Queue = queue.Queue()
        self.go_on = threading.Event()
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _work(self) -> None:
        for event in self.engine.run():
            self.events.put(event)
            if isinstance(event, Step) and event.step == self.hold_at:
                self.go_on.wait(timeout=10)
        self.events.put(None)

    def next(self, timeout: float = 10):
        return self.events.get(timeout=timeout)

    def until_step(self, k: int) -> list:
        seen = []
        while True:
            event = self.next()
            assert event is not None, f"the run ended before step {k}: {names(seen)}"
            seen.append(event)
            if isinstance(event, Step) and event.step == k:
                return seen

    def rest(self) -> list:
        seen = []
        while (event := self.next()) is not None:
            seen.append(event)
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        return seen


def test_pause_blocks_the_worker_between_steps_and_resume_finishes_the_run():
    engine = Engine(prepare(make_project(epochs=1)))
    worker = Worker(engine, hold_at=3)
    worker.thread.start()
    worker.until_step(3)
    engine.pause()
    assert engine.paused
    worker.go_on.set()
    with pytest.raises(queue.Empty):
        worker.next(timeout=0.3)  # paused: no Step 4
    assert worker.thread.is_alive() and engine.paused and engine.step == 3

    engine.resume()
    assert not engine.paused
    rest = worker.rest()
    assert [e.step for e in rest if isinstance(e, Step)] == list(range(4, STEPS_PER_EPOCH + 1))
    assert names(rest)[-2:] == ["Epoch", "Finished"]


def test_stop_from_another_thread_while_paused_ends_the_run_without_another_step():
    engine = Engine(prepare(make_project(epochs=2)))
    worker = Worker(engine, hold_at=3)
    worker.thread.start()
    worker.until_step(3)
    engine.pause()
    worker.go_on.set()
    stopper = threading.Thread(target=engine.stop)
    stopper.start()
    stopper.join(timeout=10)
    rest = worker.rest()
    assert names(rest) == ["Stopped"]
    assert rest[0].reason == "user" and rest[0].step == 3 and engine.step == 3


# Non-finite values and failures -------------------------------------------------------------------


class FailingBatches(Batches):
    """Batches from a file that goes away after a few reads."""

    def __init__(self, base: Batches, fail_after: int) -> None:
        super().__init__(base.x, base.y, base.batch_size, base.shuffle, base.seed)
        self.fail_after = fail_after

    def epoch(self, epoch: int, skip: int = 0):
        for i, batch in enumerate(super().epoch(epoch, skip)):
            if i == self.fail_after:
                raise OSError("the data file went away")
            yield batch


def test_an_error_in_the_data_becomes_a_failed_event_and_the_process_carries_on():
    project = make_project(epochs=1)
    setup = prepare(project)
    setup.batches = FailingBatches(setup.batches, fail_after=3)
    events = run_all(Engine(setup))
    assert names(events) == ["Started"] + ["Step"] * 3 + ["Failed"]
    failed = events[-1]
    assert failed.step == 3
    assert "OSError" in failed.message and "the data file went away" in failed.message
    assert "Traceback" in failed.traceback and "OSError: the data file went away" in failed.traceback

    # The same process trains again, from a fresh setup, to the end.
    again = run_all(Engine(prepare(project)))
    assert isinstance(again[-1], Finished)


def test_a_shape_mismatch_fails_naming_the_layer():
    project = make_project(mlp(n_in=3), epochs=1)
    setup = prepare(project)
    before = snapshot(setup.core)
    events = run_all(Engine(setup))
    assert names(events) == ["Started", "Failed"]
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.step == 0
    assert "0 (Linear): input (32, 2) but in_features=3" in failed.message
    assert "RuntimeError" in failed.traceback
    assert_same_weights(setup.core, before)
