"""Train and eval mode as PyTorch users know them, and per-module overrides that hold through
``model.train()`` and a whole training run."""

from __future__ import annotations

import pytest
import torch

from app.errors import NNStudioError
from app.network.build import build
from app.network.spec import Node
from app.project.project_file import parse_project
from app.setup.modes import apply_mode, parse_mode, pinned_modes
from app.training.engine import Engine
from app.training.events import Finished
from app.training.prepare import make_model, prepare


def spec(*children: dict) -> Node:
    return Node.from_json({"type": "Sequential", "children": list(children)})


def linear(n_in: int, n_out: int) -> dict:
    return {"type": "Linear", "args": {"in_features": n_in, "out_features": n_out}}


def batchnorm(n: int) -> dict:
    return {"type": "BatchNorm1d", "args": {"num_features": n}}


def test_dropout_is_random_in_train_mode_and_the_identity_in_eval_mode():
    torch.manual_seed(0)
    model = build(spec(linear(4, 64), {"type": "Dropout", "args": {"p": 0.5}}), device="cpu")
    x = torch.randn(8, 4)

    apply_mode(model, parse_mode({"training": True}))
    assert model.training and model[1].training
    with torch.no_grad():
        a, b = model(x), model(x)
        plain = model[0](x)
    assert not torch.equal(a, b)
    assert (a == 0).any()

    apply_mode(model, parse_mode({"training": False}))
    assert not model.training and not model[1].training
    with torch.no_grad():
        c, d = model(x), model(x)
    assert torch.equal(c, d)
    assert torch.equal(c, plain)


def test_batchnorm_uses_batch_statistics_in_train_mode_and_running_statistics_in_eval_mode():
    torch.manual_seed(0)
    model = build(spec(batchnorm(3)), device="cpu")
    bn = model[0]
    x = torch.randn(16, 3) * 4 + 10

    apply_mode(model, parse_mode({"training": True}))
    with torch.no_grad():
        out = model(x)
    # normalised with the batch's own mean: each feature is centred
    assert torch.allclose(out.mean(0), torch.zeros(3), atol=1e-5)
    assert not torch.equal(bn.running_mean, torch.zeros(3))  # and the running mean moved
    assert bn.num_batches_tracked.item() == 1

    apply_mode(model, parse_mode({"training": False}))
    running_mean, running_var = bn.running_mean.clone(), bn.running_var.clone()
    with torch.no_grad():
        first, second = model(x), model(x)
        alone = model(x[:1])
    assert torch.equal(first, second)
    assert torch.equal(bn.running_mean, running_mean) and torch.equal(bn.running_var, running_var)
    assert bn.num_batches_tracked.item() == 1
    expected = (x - running_mean) / torch.sqrt(running_var + bn.eps)
    assert torch.allclose(first, expected, atol=1e-5)
    assert torch.allclose(alone, first[:1], atol=1e-6)  # one sample gives the same answer alone
    assert first.mean(0).abs().max() > 1  # not centred by the batch any more


def pinned_project(epochs: int = 2):
    return parse_project(
        {
            "format": "nnstudio-project",
            "version": 2,
            "inputs": [{"shape": [1, 2], "dtype": "float32"}],
            "network": {
                "type": "Sequential",
                "children": [linear(2, 16), batchnorm(16), {"type": "ReLU"}, linear(16, 2)],
            },
            "mode": {"training": True, "overrides": {"1": False}},
            "optimizer": {"type": "Adam", "defaults": {"lr": 0.01}},
            "training": {
                "dataset": {"name": "spirals", "size": 200, "classes": 2},
                "loss": {"type": "CrossEntropyLoss"},
                "epochs": epochs,
                "batch_size": 32,
            },
        }
    )


def test_an_override_survives_train_calls():
    model = make_model(pinned_project())
    assert pinned_modes(model) == {"1": False}
    assert model.training and model[0].training and not model[1].training

    for call in (lambda: model.train(), lambda: model.train(True), lambda: model.eval(), lambda: model.train()):
        call()
        assert not model[1].training
    assert model.training and model[0].training and model[3].training

    model.eval()
    assert not any(m.training for m in model.modules())
    model[1].train(True)  # even asked directly
    assert not model[1].training


def test_an_override_holds_through_the_training_loop():
    setup = prepare(pinned_project())
    core = setup.core
    bn, first = core[1], core[0]
    running_mean, running_var = bn.running_mean.clone(), bn.running_var.clone()
    weight = first.weight.detach().clone()

    seen: dict[str, list[bool]] = {"bn": [], "linear": []}
    handles = [
        bn.register_forward_pre_hook(lambda m, a: seen["bn"].append(m.training)),
        first.register_forward_pre_hook(lambda m, a: seen["linear"].append(m.training)),
    ]
    try:
        events = list(Engine(setup).run())
    finally:
        for handle in handles:
            handle.remove()

    assert isinstance(events[-1], Finished)
    train_steps = events[-1].step
    assert seen["bn"] and not any(seen["bn"])  # eval in every step and every validation pass
    assert seen["linear"].count(True) == train_steps  # the rest trained
    assert torch.equal(bn.running_mean, running_mean) and torch.equal(bn.running_var, running_var)
    assert bn.num_batches_tracked.item() == 0
    assert not torch.equal(first.weight, weight)
    # after the run (validation switched to eval and back) the pin still holds
    assert core.training and not bn.training


def test_an_override_naming_a_missing_module_is_an_error_naming_it():
    model = build(spec(linear(2, 4), batchnorm(4)), device="cpu")
    with pytest.raises(NNStudioError) as caught:
        apply_mode(model, parse_mode({"training": True, "overrides": {"features.7": False}}))
    assert "features.7" in str(caught.value)
    assert model.training and model[1].training and pinned_modes(model) == {}

    project = pinned_project()
    project.mode = {"training": True, "overrides": {"9": False}}
    with pytest.raises(NNStudioError) as caught:
        make_model(project)
    assert "'9'" in str(caught.value)
