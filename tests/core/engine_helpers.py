"""Shared helpers for driving the training engine in tests: small spirals projects, runs, weights."""

from __future__ import annotations

import torch

from app.project.project_file import parse_project
from app.training.engine import Engine
from app.training.events import Step


def run_until_step(engine: Engine, k: int) -> list:
    """Consume the run, calling stop() as soon as the k-th Step arrives."""
    events = []
    for event in engine.run():
        events.append(event)
        if isinstance(event, Step) and event.step == k:
            engine.stop()
    return events


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
