"""A run for the window, without Qt: the channel, requests between steps, the boundary, evaluation."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from app.project.project_file import load_project
from app.training.evaluate import evaluate
from app.training.events import Epoch, Finished, ProbeSnapshot, Started, Step, Stopped
from app.training.live_run import BoundaryUpdate, EventChannel, LiveRun
from app.training.prepare import prepare
from tests.cli.conftest import EXAMPLES


def spirals_setup(epochs: int = 1):
    project = load_project(EXAMPLES / "spirals.nnproj")
    return prepare(project, epochs=epochs)


def test_a_full_channel_drops_the_oldest_steps_and_keeps_every_rare_event():
    channel = EventChannel(capacity=5)
    channel.put(Started(1, 10, 0, 0, "cpu", ["default"], 100))
    for step in range(1, 9):
        channel.put(Step(step, 0, step, 1.0, None, [0.1], None, 0.0, 0.0))
    channel.put(Finished(8, 1, 1.0))
    events = channel.drain()
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    assert [e.step for e in events if isinstance(e, Step)] == [6, 7, 8]
    assert channel.dropped == 5 and channel.drain() == []


def test_a_run_reports_into_its_channel_with_boundaries_for_2d_data():
    run = LiveRun(spirals_setup(), ["0"], probe_every=5, boundary_every_s=0.0)
    run.run()
    events = run.channel.drain()
    assert isinstance(events[0], Started) and isinstance(run.final, Finished) and events[-1] is not run.final
    steps = [e for e in events if isinstance(e, Step)]
    assert len(steps) == run.setup.config.epochs * len(run.setup.batches)
    assert any(isinstance(e, Epoch) for e in events)
    assert {s.path for e in events if isinstance(e, ProbeSnapshot) for s in e.stats} == {"0"}
    boundaries = [e for e in events if isinstance(e, BoundaryUpdate)]
    assert len(boundaries) == len(steps) + 1  # one per step at interval 0, and the final weights'
    assert boundaries[-1].image.label.shape == (64, 64)


def test_no_boundary_for_data_that_is_not_2d():
    project = load_project(EXAMPLES / "seed_add_module.nnproj")
    run = LiveRun(prepare(project), [], boundary_every_s=0.0)
    run.run()
    assert not any(isinstance(e, BoundaryUpdate) for e in run.channel.drain())


def test_a_mode_asked_for_mid_run_holds_from_the_next_step_on():
    setup = spirals_setup()
    run = LiveRun(setup, [])
    modes = []

    class Watch:
        def handle(self, event):
            if isinstance(event, Step):
                modes.append(setup.core.training)
                if event.step == 3:
                    run.set_mode({"training": False, "overrides": {}})

        def close(self):
            pass

    run.log = Watch()
    run.run()
    assert modes[:3] == [True, True, True] and not any(modes[3:])


def test_stop_from_another_thread_ends_the_run_with_its_weights():
    setup = spirals_setup(epochs=50)
    run = LiveRun(setup, [])
    worker = threading.Thread(target=run.run)
    worker.start()
    while not any(isinstance(e, Step) for e in run.channel.drain()):
        pass
    run.stop()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert isinstance(run.final, Stopped) and run.final.reason == "user"
    assert run.engine.step < 50 * len(setup.batches)


def test_evaluation_differs_between_train_and_eval_mode_and_changes_nothing():
    setup = prepare(load_project(EXAMPLES / "spirals.nnproj"))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    in_eval = evaluate(model, setup.loss_fn, setup.data)
    model.train()
    in_train = evaluate(model, setup.loss_fn, setup.data)
    assert (in_eval.training, in_train.training) == (False, True)
    assert in_eval.split == "validation" and in_eval.samples == len(setup.data.x_val)
    assert in_eval.loss != pytest.approx(in_train.loss)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats put back
