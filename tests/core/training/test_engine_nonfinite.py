"""A non-finite loss or gradient never reaches the weights: the run stops before the optimizer step
and keeps the last good weights, whatever the metrics cadence."""

from __future__ import annotations

import pytest
import torch

from app.data.loading import Data
from app.training.engine import Engine
from app.training.prepare import prepare
from tests.core.engine_helpers import (
    BATCH,
    TRAIN_SIZE,
    assert_same_weights,
    make_project,
    mlp,
    names,
    run_all,
    run_until_step,
)


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
