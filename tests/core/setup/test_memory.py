"""Training memory by part, and whether a step fits a device, with the largest batch that would."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from app.network.analysis import analyse
from app.network.inputs import InputSpec
from app.setup import memory as memory_module
from app.setup.devices import parse_placement
from app.setup.memory import fit, optimizer_state_bytes, training_memory
from app.setup.optim import OPTIMIZERS, build_optimizer, parse_optimizer


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3))


def _real_state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    model(torch.randn(4, 5)).sum().backward()
    optimizer.step()
    parameters = {id(p): p for p in model.parameters()}
    return sum(
        t.numel() * t.element_size()
        for key, state in optimizer.state.items()
        for t in state.values()
        if isinstance(t, torch.Tensor) and t.shape == parameters[id(key)].shape
    )


SETTINGS = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("AdamW", {}),
    ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("RMSprop", {}),
    ("Adagrad", {}),
    ("Adamax", {}),
    ("NAdam", {}),
    ("RAdam", {}),
]


@pytest.mark.parametrize("kind, defaults", SETTINGS)
def test_optimizer_state_is_what_a_real_step_creates(kind, defaults):
    model = _model()
    config = parse_optimizer({"type": kind, "defaults": {"lr": 0.01, **defaults}})
    optimizer, _ = build_optimizer(model, config)
    estimate = optimizer_state_bytes(optimizer)
    assert estimate == _real_state_bytes(model, optimizer)


def test_every_optimizer_the_project_offers_is_covered():
    assert {kind for kind, _ in SETTINGS} == set(OPTIMIZERS)


def test_groups_with_their_own_settings_and_frozen_parameters():
    model = _model()
    model[3].requires_grad_(False)
    config = parse_optimizer(
        {"type": "SGD", "defaults": {"lr": 0.1}, "groups": [{"select": "0", "momentum": 0.9}, {"select": "1"}]}
    )
    optimizer, _ = build_optimizer(model, config)
    assert optimizer_state_bytes(optimizer) == 4 * (5 * 7 + 7)  # only the first group keeps a buffer
    assert optimizer_state_bytes(optimizer) == _real_state_bytes(model, optimizer)


def test_training_memory_by_part():
    model = _model()
    model[0].requires_grad_(False)
    analysis = analyse(model, [InputSpec([16, 5])])
    optimizer, _ = build_optimizer(model, parse_optimizer({"type": "Adam"}))
    memory = training_memory(analysis, optimizer)
    assert memory is not None
    trainable = 4 * (7 + 7 + 7 * 3 + 3)
    assert memory.parameters == 4 * (5 * 7 + 7 + 7 + 7 + 7 * 3 + 3) + 4 * 14 + 8  # BatchNorm's buffers too
    assert memory.gradients == trainable
    assert memory.optimizer_state == 2 * trainable
    assert memory.activations == analysis.activation_bytes > 0
    assert memory.to_json()["total"] == sum(memory.to_json()[k] for k in memory.to_json() if k != "total")
    assert training_memory(analysis).optimizer_state == 0  # plain SGD
    assert training_memory(analyse(model, None)) is None


def test_the_largest_batch_reported_fits_and_one_more_does_not(monkeypatch):
    model = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 10))
    at_8 = training_memory(analyse(model, [InputSpec([8, 64])]))
    assert at_8 is not None
    capacity = at_8.total + 3 * at_8.activations  # room for about 32 samples
    monkeypatch.setattr(memory_module, "available_ram", lambda: capacity)
    answer = fit(at_8, 8, parse_placement("cpu"))
    assert answer.fits and answer.capacity == capacity and answer.max_batch_size == 32
    for batch, fits in ((answer.max_batch_size, True), (answer.max_batch_size + 1, False)):
        memory = training_memory(analyse(model, [InputSpec([batch, 64])]))
        assert memory is not None
        assert (memory.total <= capacity) is fits
        assert fit(memory, batch, parse_placement("cpu")).fits is fits


def test_a_device_that_is_not_here_has_no_capacity_and_no_verdict():
    memory = training_memory(analyse(nn.Linear(4, 2), [InputSpec([3, 4])]))
    assert memory is not None
    answer = fit(memory, 3, parse_placement("cuda:7"))
    assert answer.capacity is None and answer.fits is None and answer.max_batch_size is None


def test_available_ram_reads_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemAvailable:    512 kB\n")
    assert memory_module.available_ram(str(meminfo)) == 512 * 1024
