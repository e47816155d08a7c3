"""The training engine as a user meets it: the events of a run, reproducibility, exact resume,
stop / pause from the GUI thread, non-finite losses and failures that leave the process alive."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
import torch

from app.data.loading import Batches, Data
from app.project.project_file import parse_project
from app.training.checkpoint import load_checkpoint
from app.training.engine import Engine
from app.training.events import Checkpoint, Epoch, Failed, Finished, Started, Step
from app.training.prepare import prepare
from tests.core.engine_helpers import run_until_step

TRAIN_SIZE = 320  # spirals of 400 with the default 0.2 validation split
BATCH = 32
STEPS_PER_EPOCH = TRAIN_SIZE // BATCH


def linear(n_in: int, n_out: int) -> dict:
    return {"type": "Linear", "args": {"in_features": n_in, "out_features": n_out}}


def mlp(n_in: int = 2, n_out: int = 2, hidden: int = 16, dropout: float = 0.0, batchnorm: bool = False) -> dict:
    children = [linear(n_in, hidden)]
    if batchnorm:
        children.append({"type": "BatchNorm1d", "args": {"num_features": hidden}})
    children.append({"type": "ReLU"})
    if dropout:
        children.append({"type": "Dropout", "args": {"p": dropout}})
    children.append(linear(hidden, n_out))
    return {"type": "Sequential", "children": children}


def make_project(
    network: dict | None = None,
    *,
    n_in: int = 2,
    optimizer: dict | None = None,
    scheduler: dict | None = None,
    **training,
):
    settings = {
        "dataset": {"name": "spirals", "size": 400, "classes": 2},
        "loss": {"type": "CrossEntropyLoss"},
        "epochs": 2,
        "batch_size": BATCH,
        **training,
    }
    return parse_project(
        {
            "format": "nnstudio-project",
            "version": 2,
            "inputs": [{"shape": [1, n_in], "dtype": "float32"}],
            "network": network if network is not None else mlp(),
            "training": settings,
            "optimizer": optimizer,
            "scheduler": scheduler,
        }
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


def assert_same_weights(a: torch.nn.Module | dict, b: torch.nn.Module | dict) -> None:
    a = a.state_dict() if isinstance(a, torch.nn.Module) else a
    b = b.state_dict() if isinstance(b, torch.nn.Module) else b
    assert list(a) == list(b)
    different = [key for key in a if not torch.equal(a[key], b[key])]
    assert not different, f"tensors differ: {different}"


def snapshot(module: torch.nn.Module) -> dict:
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def run_all(engine: Engine) -> list:
    return list(engine.run())


def names(events: list) -> list[str]:
    return [type(event).__name__ for event in events]


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


def planted_data(nan_at: int | None) -> Data:
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(TRAIN_SIZE, 2, generator=generator)
    y = (x[:, 0] * x[:, 1] > 0).long()
    if nan_at is not None:
        x[nan_at, 1] = float("nan")
    x_val = torch.randn(64, 2, generator=generator)
    y_val = (x_val[:, 0] * x_val[:, 1] > 0).long()
    return Data(x, y, x_val, y_val, "classification", 2, (2,), "float32", "planted")


@pytest.mark.parametrize("batchnorm", [False, True])
def test_a_nan_in_the_data_stops_the_run_and_keeps_the_last_good_weights(batchnorm: bool):
    project = make_project(
        mlp(dropout=0.2, batchnorm=batchnorm), shuffle=False, optimizer={"type": "Adam", "defaults": {"lr": 0.01}}
    )
    data = planted_data(nan_at=4 * BATCH + 5)  # a sample of the 5th batch of epoch 0

    poisoned = prepare(project, data=data)
    events = run_all(Engine(poisoned))
    assert names(events) == ["Started"] + ["Step"] * 4 + ["Stopped"]
    stopped = events[-1]
    assert stopped.reason == "nonfinite" and stopped.step == 4
    assert "step 5" in stopped.message

    user = prepare(project, data=data)
    events = run_until_step(Engine(user), 4)
    assert events[-1].reason == "user" and events[-1].step == 4
    assert_same_weights(poisoned.core, user.core)
    assert all(torch.isfinite(v).all() for v in poisoned.core.state_dict().values() if v.is_floating_point())


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


def infinite_gradient_at(setup, step: int) -> None:
    """The first layer's weight gets an infinite gradient on ``step`` (from 1); the loss stays finite."""
    weight = next(setup.core.parameters())
    calls = [0]

    def hook(grad: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        return grad * float("inf") if calls[0] == step else grad

    weight.register_hook(hook)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_an_infinite_gradient_on_a_step_without_metrics_is_never_applied(optimizer: str):
    project = make_project(optimizer={"type": optimizer, "defaults": {"lr": 0.01}}, shuffle=False)
    poisoned = prepare(project)
    infinite_gradient_at(poisoned, 3)  # not a metrics step: those are 1, 10, 20, ...
    events = run_all(Engine(poisoned))
    assert names(events) == ["Started"] + ["Step"] * 2 + ["Stopped"]
    stopped = events[-1]
    assert stopped.reason == "nonfinite" and stopped.step == 2
    assert "gradient" in stopped.message and "step 3" in stopped.message
    assert all(torch.isfinite(p).all() for p in poisoned.core.parameters())

    user = prepare(project)
    events = run_until_step(Engine(user), 2)
    assert events[-1].reason == "user" and events[-1].step == 2
    assert_same_weights(poisoned.core, user.core)


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
