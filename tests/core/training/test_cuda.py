"""On a CUDA GPU, training, probes and metrics give what they give on the CPU, and DataParallel
trains the same network. Skipped on a machine without CUDA (CI has none)."""

import copy

import pytest
import torch
from torch import nn

from app.project.project_file import load_project
from app.setup.devices import discover
from app.setup.optim import grad_norms
from app.training.engine import Engine
from app.training.evaluate import accuracy
from app.training.events import Finished, Step
from app.training.prepare import prepare
from app.training.probes import ProbeSet
from tests.cli.conftest import EXAMPLES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SPIRALS = EXAMPLES / "spirals.nnproj"


def small_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 5))


def probe_once(model: nn.Module, core: nn.Module, x: torch.Tensor) -> dict:
    probes = ProbeSet(core, ["0", "1", "2"], every=1, gradients=True)
    probes.attach()
    model(x).square().sum().backward()
    stats = {(s.path, s.kind): s for s in probes.collect(1)}
    probes.close()
    return stats


def test_discovery_lists_each_cuda_device_with_its_name_and_memory():
    found = {d.id: d for d in discover()}
    for index in range(torch.cuda.device_count()):
        info = found[f"cuda:{index}"]
        assert info.name == torch.cuda.get_device_name(index) and info.memory_bytes > 2**30


@pytest.mark.parametrize("wrapper", ["cuda", "dataparallel"])
def test_probes_on_the_gpu_match_the_cpu(wrapper):
    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(1))
    net = small_net()
    on_cpu = probe_once(net, net, x)
    core = small_net().cuda()
    model = nn.DataParallel(core, device_ids=[0]) if wrapper == "dataparallel" else core
    on_gpu = probe_once(model, core, x.cuda())
    assert on_gpu.keys() == on_cpu.keys() and len(on_gpu) == 6  # activations and gradients of 3 modules
    for key, expected in on_cpu.items():
        got = on_gpu[key]
        assert got.count == expected.count
        for name in ("mean", "std", "min", "max"):
            assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-4, abs=1e-5), (key, name)
        assert got.zero_fraction == pytest.approx(expected.zero_fraction, abs=0.01)
        assert abs(got.hist - expected.hist).sum() <= 0.02 * expected.count, key  # a value on a bin edge may move
    assert not any(m._forward_hooks for m in core.modules())


def test_gradient_norms_and_accuracy_on_the_gpu_match_the_cpu():
    results = []
    for device in ("cpu", "cuda"):
        net = small_net().to(device)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        x = torch.randn(64, 8, generator=torch.Generator().manual_seed(2)).to(device)
        y = torch.randint(0, 5, (64,), generator=torch.Generator().manual_seed(3)).to(device)
        output = net(x)
        nn.functional.cross_entropy(output, y).backward()
        results.append((grad_norms(optimizer), accuracy(output, y)))
    (cpu_norms, cpu_accuracy), (gpu_norms, gpu_accuracy) = results
    assert gpu_norms == pytest.approx(cpu_norms, rel=1e-4)
    assert gpu_accuracy == pytest.approx(cpu_accuracy)


def run(placement: str, probed: bool = False) -> tuple[list, nn.Module]:
    setup = prepare(load_project(SPIRALS), placement=placement, epochs=2)
    probes = ProbeSet(setup.core, ["0", "1"], every=5) if probed else None
    events = list(Engine(setup, probes=probes).run())
    return events, setup


@pytest.mark.parametrize("placement", ["cuda:0", "dp:0"])
def test_training_on_the_gpu_learns_and_keeps_plain_weight_names(placement):
    events, setup = run(placement)
    assert isinstance(events[-1], Finished), events[-1]
    losses = [e.loss for e in events if isinstance(e, Step)]
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])
    assert all(p.device.type == "cuda" for p in setup.core.parameters())
    assert isinstance(setup.model, nn.DataParallel) == (placement == "dp:0")
    expected = copy.deepcopy(setup.core).cpu().state_dict().keys()
    assert setup.core.state_dict().keys() == expected and not any(k.startswith("module.") for k in expected)


def test_probes_leave_gpu_training_bit_identical():
    _, plain = run("cuda:0")
    _, probed = run("cuda:0", probed=True)
    for (name, a), b in zip(plain.core.state_dict().items(), probed.core.state_dict().values()):
        assert torch.equal(a, b), name
