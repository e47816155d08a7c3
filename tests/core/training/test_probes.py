"""Probes watch a run without touching it: same weights, no hooks left behind, and statistics
that are those of the activations themselves."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from app.data.loading import Data
from app.project.project_file import parse_project
from app.training.engine import Engine
from app.training.events import Failed, Finished, ProbeSnapshot, Step, Stopped
from app.training.prepare import prepare
from app.training.probes import ProbeSet
from tests.core.engine_helpers import run_until_step

BATCH = 32


def linear(n_in: int, n_out: int) -> dict:
    return {"type": "Linear", "args": {"in_features": n_in, "out_features": n_out}}


def network(n_in: int = 2, middle_in: int = 16, dropout: bool = True) -> dict:
    children = [linear(n_in, 16), {"type": "ReLU"}, linear(middle_in, 8), {"type": "Tanh"}]
    if dropout:
        children.append({"type": "Dropout", "args": {"p": 0.25}})
    children.append(linear(8, 2))
    return {"type": "Sequential", "children": children}


def make_project(net: dict | None = None, epochs: int = 1, **training):
    return parse_project(
        {
            "format": "nnstudio-project",
            "version": 2,
            "inputs": [{"shape": [1, 2], "dtype": "float32"}],
            "network": net if net is not None else network(),
            "optimizer": {"type": "Adam", "defaults": {"lr": 0.01}},
            "training": {
                "dataset": {"name": "spirals", "size": 400, "classes": 2},
                "loss": {"type": "CrossEntropyLoss"},
                "epochs": epochs,
                "batch_size": BATCH,
                **training,
            },
        }
    )


def leaves(model: nn.Module) -> list[str]:
    return [path for path, module in model.named_modules() if not list(module.children())]


def no_hooks_left(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    different = [key for key in sa if not torch.equal(sa[key], sb[key])]
    assert not different, f"tensors differ: {different}"


def snapshots(events: list) -> list[ProbeSnapshot]:
    return [e for e in events if isinstance(e, ProbeSnapshot)]


# Probes are read-only and leave nothing behind ---------------------------------------------------


def test_probes_on_every_module_do_not_change_the_weights():
    project = make_project(epochs=2)
    plain = prepare(project)
    assert isinstance(list(Engine(plain).run())[-1], Finished)

    probed = prepare(project)
    probes = ProbeSet(probed.core, leaves(probed.core), every=2, gradients=True)
    events = list(Engine(probed, probes=probes).run())
    assert isinstance(events[-1], Finished)
    seen = snapshots(events)
    assert len(seen) == 10  # 20 steps, every 2nd sampled
    kinds = {(s.path, s.kind) for s in seen[0].stats}
    assert kinds == {(p, k) for p in leaves(probed.core) for k in ("activation", "gradient")}
    assert_same_weights(plain.core, probed.core)


def test_hooks_are_removed_when_a_run_finishes():
    setup = prepare(make_project())
    probes = ProbeSet(setup.core, leaves(setup.core), every=1, gradients=True)
    events = list(Engine(setup, probes=probes).run())
    assert isinstance(events[-1], Finished) and snapshots(events)
    assert no_hooks_left(setup.core)


def test_hooks_are_removed_when_the_user_stops_on_a_sampled_step():
    setup = prepare(make_project())
    probes = ProbeSet(setup.core, leaves(setup.core), every=1, gradients=True)
    events = run_until_step(Engine(setup, probes=probes), 3)
    assert isinstance(events[-1], Stopped)
    assert no_hooks_left(setup.core)


def test_hooks_are_removed_when_the_consumer_abandons_the_run_mid_step():
    setup = prepare(make_project())
    probes = ProbeSet(setup.core, leaves(setup.core), every=1, gradients=True)
    run = Engine(setup, probes=probes).run()
    for event in run:
        if isinstance(event, Step) and event.step == 2:
            break  # before the snapshot of step 2 was collected
    run.close()
    assert no_hooks_left(setup.core)


@pytest.mark.parametrize("middle_in", [3, 16])
def test_hooks_are_removed_after_a_failure(middle_in: int):
    """A shape error in a probed step: a Failed event that names the layer, and no hook left."""
    project = make_project(network(n_in=2 if middle_in == 3 else 5, middle_in=middle_in))
    setup = prepare(project)
    probes = ProbeSet(setup.core, leaves(setup.core), every=1, gradients=True)
    events = list(Engine(setup, probes=probes).run())
    assert isinstance(events[-1], Failed)
    expected = (
        "2 (Linear): input (32, 16) but in_features=3"
        if middle_in == 3
        else "0 (Linear): input (32, 2) but in_features=5"
    )
    assert expected in events[-1].message
    assert no_hooks_left(setup.core)


def test_hooks_are_removed_after_a_nonfinite_loss():
    x = torch.randn(128, 2, generator=torch.Generator().manual_seed(0))
    x[40, 0] = float("inf")
    y = (x[:, 0] > 0).long()
    data = Data(x, y, x[:0], y[:0], "classification", 2, (2,), "float32", "planted")
    setup = prepare(make_project(shuffle=False, val_split=0.0), data=data)
    probes = ProbeSet(setup.core, leaves(setup.core), every=1, gradients=True)
    events = list(Engine(setup, probes=probes).run())
    assert isinstance(events[-1], Stopped) and events[-1].reason == "nonfinite"
    assert no_hooks_left(setup.core)


# The numbers are right ---------------------------------------------------------------------------


def test_probe_statistics_are_those_of_the_activation():
    project = make_project(network(dropout=False))
    setup = prepare(project)
    x, _ = next(iter(setup.batches.epoch(0)))

    captured = {}
    handle = setup.core[1].register_forward_hook(lambda m, a, out: captured.setdefault("relu", out.detach().clone()))
    with torch.no_grad():
        setup.core(x)  # no dropout, no batch norm: the first step's forward sees the same values
    handle.remove()
    relu = captured["relu"].double()

    probes = ProbeSet(setup.core, ["1"], every=1)
    events = list(Engine(setup, probes=probes).run())
    first = snapshots(events)[0]
    stats = {s.path: s for s in first.stats}["1"]
    assert stats.kind == "activation" and stats.count == relu.numel() == BATCH * 16
    assert stats.mean == pytest.approx(relu.mean().item(), rel=1e-5, abs=1e-7)
    assert stats.std == pytest.approx(relu.std().item(), rel=1e-4)
    assert stats.min == relu.min().item() == 0.0
    assert stats.max == pytest.approx(relu.max().item(), rel=1e-6)
    zero_fraction = (relu == 0).double().mean().item()
    assert 0 < zero_fraction < 1
    assert stats.zero_fraction == pytest.approx(zero_fraction)
    assert stats.hist.sum() == relu.numel()
    assert len(stats.edges) == len(stats.hist) + 1
    assert stats.edges[0] <= stats.min and stats.edges[-1] >= stats.max


def test_gradient_statistics_are_those_of_the_activation_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1))
    x = torch.randn(20, 3)

    captured = {}

    def keep(module, args, output):
        output.retain_grad()
        captured["out"] = output

    handle = model[1].register_forward_hook(keep)
    model(x).pow(2).sum().backward()
    handle.remove()
    grad = captured["out"].grad.double()

    probes = ProbeSet(model, ["1"], every=1, gradients=True)
    probes.attach()
    model(x).pow(2).sum().backward()
    stats = {s.kind: s for s in probes.collect(1)}
    assert no_hooks_left(model)
    g = stats["gradient"]
    assert g.count == grad.numel()
    assert g.mean == pytest.approx(grad.mean().item(), rel=1e-5, abs=1e-8)
    assert g.std == pytest.approx(grad.std().item(), rel=1e-4)
    assert g.min == pytest.approx(grad.min().item(), rel=1e-6)
    assert g.max == pytest.approx(grad.max().item(), rel=1e-6)


def test_two_halves_of_a_batch_add_up_to_the_whole_batch():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 10), nn.ReLU())
    x = torch.randn(64, 4)

    whole = ProbeSet(model, ["1"], every=1)
    whole.attach()
    with torch.no_grad():
        model(x)
    [once] = whole.collect(0)

    halves = ProbeSet(model, ["1"], every=1)
    halves.attach()
    with torch.no_grad():
        for chunk in x.chunk(2):  # as DataParallel replicas call the same module
            model(chunk)
    [twice] = halves.collect(0)

    assert twice.count == once.count == 640
    for name in ("mean", "std", "min", "max", "zero_fraction"):
        assert getattr(twice, name) == pytest.approx(getattr(once, name), rel=1e-6, abs=1e-9), name
    assert twice.hist.sum() == once.hist.sum() == 640


class DoubleInPlace(nn.Module):
    """Changes its input in place without saying so (no ``inplace`` attribute)."""

    def forward(self, x):
        return x.mul_(2)


def linear_output(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model[0](x).clone()


def test_an_inplace_relu_after_the_probed_layer_does_not_change_what_it_reports():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 10), nn.ReLU(inplace=True))
    x = torch.randn(64, 4)
    expected = linear_output(model, x)
    probes = ProbeSet(model, ["0"], every=1)
    probes.attach()
    with torch.no_grad():
        model(x)
    [stats] = probes.collect(1)
    assert stats.min == pytest.approx(expected.min().item()) and stats.min < 0  # seen before the ReLU
    assert stats.mean == pytest.approx(expected.mean().item(), rel=1e-5)


def test_an_undeclared_inplace_change_is_left_out_once_and_copied_from_then_on():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 10), DoubleInPlace())
    x = torch.randn(64, 4)
    expected = linear_output(model, x)
    probes = ProbeSet(model, ["0"], every=1)
    for step in (1, 2):
        probes.attach()
        with torch.no_grad():
            model(x)
        found = probes.collect(step)
        if step == 1:
            assert found == [] and probes.missed == 1  # never the doubled values
        else:
            [stats] = found
            assert stats.mean == pytest.approx(expected.mean().item(), rel=1e-5)
            assert stats.max == pytest.approx(expected.max().item())


# When and where probes sample --------------------------------------------------------------------


def test_set_paths_during_a_run_changes_the_later_snapshots():
    setup = prepare(make_project())
    probes = ProbeSet(setup.core, ["0"], every=1)
    paths_by_step = {}
    for event in Engine(setup, probes=probes).run():
        if isinstance(event, ProbeSnapshot):
            paths_by_step[event.step] = sorted({s.path for s in event.stats})
        if isinstance(event, Step) and event.step == 4:
            probes.set_paths(["2", "3"])
    assert len(paths_by_step) == 10
    assert all(paths_by_step[s] == ["0"] for s in range(1, 5))
    assert all(paths_by_step[s] == ["2", "3"] for s in range(5, 11))


@pytest.mark.parametrize("every", [1, 3, 4])
def test_only_sampled_steps_produce_snapshots(every: int):
    setup = prepare(make_project())
    probes = ProbeSet(setup.core, ["1"], every=every)
    events = list(Engine(setup, probes=probes).run())
    steps = [e.step for e in events if isinstance(e, Step)]
    assert steps == list(range(1, 11))
    sampled = [e.step for e in snapshots(events)]
    assert sampled == [s for s in steps if s % every == 0]
    for snapshot in snapshots(events):
        # each snapshot follows the Step it belongs to
        index = events.index(snapshot)
        assert isinstance(events[index - 1], Step) and events[index - 1].step == snapshot.step
        assert [s.step for s in snapshot.stats] == [snapshot.step]
