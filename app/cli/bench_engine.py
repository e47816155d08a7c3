"""``nnstudio bench engine``: the engine against a hand-written PyTorch loop, in one process.

For each fixed model (``mlp``: 784-256-256-10 with ReLU on random data; ``cnn``: the CNN example
on its own data; both batch 64) three loops run the same steps from the same weights in lockstep,
one step each in a turning order, each timed on its own steps only, so that a busy shared
machine slows all of them alike: ``plain`` (zero_grad, forward, loss,
backward, step, loss.item()), ``engine`` (the project's engine, no probes) and ``engine_probes``
(probes on every leaf module every 10 steps). Each figure is the median of the rounds;
``ratio_probes_rounds`` lists each round's own ratio, to show the spread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from app.data.loading import Data
from app.network.spec import container, layer
from app.project.project_file import Project, load_project
from app.training.engine import Engine
from app.training.events import Failed, Step
from app.training.prepare import prepare
from app.training.probes import ProbeSet

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
BATCH = 64
PROBE_EVERY = 10


def mlp_project(steps: int) -> tuple[Project, Data]:
    network = container(
        "Sequential",
        layer("Linear", in_features=784, out_features=256),
        layer("ReLU"),
        layer("Linear", in_features=256, out_features=256),
        layer("ReLU"),
        layer("Linear", in_features=256, out_features=10),
    )
    project = Project(network, [])
    project.optimizer = {"type": "SGD", "defaults": {"lr": 0.01, "momentum": 0.9}}
    project.training = {
        "dataset": {"name": "xor"},
        "loss": {"type": "CrossEntropyLoss"},
        "epochs": 1,
        "batch_size": BATCH,
        "val_split": 0.0,
        "seed": 0,
    }
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(steps * BATCH, 784, generator=generator)
    y = torch.randint(0, 10, (steps * BATCH,), generator=generator)
    empty = torch.empty(0)
    return project, Data(x, y, empty.reshape(0, 784), empty.long(), "classification", 10, (784,), "float32", "random")


def cnn_project(steps: int) -> tuple[Project, Data]:
    from app.data.loading import load_data

    project = load_project(EXAMPLES / "cnn.nnproj")
    training = project.training
    assert training is not None  # the example trains
    dataset = dict(training["dataset"], size=steps * BATCH)
    project.training = dict(training, dataset=dataset, batch_size=BATCH, epochs=1, val_split=0.0)
    return project, load_data(dataset, 0.0)


def _plain(project: Project, data: Data) -> Iterator[int]:
    """A hand-written loop: yields the batch size after each step."""
    setup = prepare(project, data=data)
    model, loss_fn, optimizer = setup.model, setup.loss_fn, setup.optimizer
    model.train()
    for x, y in setup.batches.epoch(0):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
        yield len(y)


def _engine(project: Project, data: Data, probed: bool) -> Iterator[int]:
    setup = prepare(project, data=data)
    probes = None
    if probed:
        leaves = [path for path, module in setup.core.named_modules() if path and not list(module.children())]
        probes = ProbeSet(setup.core, leaves, every=PROBE_EVERY)
    for event in Engine(setup, probes=probes).run():
        if isinstance(event, Step):
            yield setup.config.batch_size
        elif isinstance(event, Failed):
            raise RuntimeError(event.message)


def _lockstep(loops: dict[str, Iterator[int]]) -> dict[str, float]:
    """Advance every loop one step at a time, in a turning order; samples/s from each one's own time."""
    spent = dict.fromkeys(loops, 0.0)
    samples = dict.fromkeys(loops, 0)
    active = list(loops)
    turn = 0
    while active:
        turn += 1
        for name in active[turn % len(active) :] + active[: turn % len(active)]:
            start = time.perf_counter()
            try:
                samples[name] += next(loops[name])
            except StopIteration:
                active.remove(name)
            spent[name] += time.perf_counter() - start
    return {name: samples[name] / spent[name] for name in loops}


def bench_model(name: str, project: Project, data: Data, rounds: int) -> dict:
    results: dict[str, list[float]] = {"plain": [], "engine": [], "engine_probes": []}
    for round_index in range(rounds + 1):  # the first round warms up allocator, kernels, first calls
        rates = _lockstep(
            {
                "plain": _plain(project, data),
                "engine": _engine(project, data, probed=False),
                "engine_probes": _engine(project, data, probed=True),
            }
        )
        if round_index:
            for key, rate in rates.items():
                results[key].append(rate)
    medians = {key: statistics.median(values) for key, values in results.items()}
    return {
        "name": name,
        "plain_samples_per_s": round(medians["plain"], 1),
        "engine_samples_per_s": round(medians["engine"], 1),
        "engine_probes_samples_per_s": round(medians["engine_probes"], 1),
        "ratio_engine": round(medians["engine"] / medians["plain"], 3),
        "ratio_probes": round(medians["engine_probes"] / medians["plain"], 3),
        # each round's own ratio: how far one round is from the next on this machine
        "ratio_probes_rounds": [round(p / q, 3) for p, q in zip(results["engine_probes"], results["plain"])],
    }


def bench_engine(steps: int = 200, rounds: int = 5) -> dict:
    models = []
    for name, make in (("mlp", mlp_project), ("cnn", cnn_project)):
        project, data = make(steps)
        models.append(bench_model(name, project, data, rounds))
    return {"models": models, "steps": steps, "rounds": rounds, "batch_size": BATCH, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    import json

    print(json.dumps(bench_engine()))
