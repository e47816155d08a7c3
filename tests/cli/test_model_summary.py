"""``summary --model`` against the truth: a real forward pass with hooks, computed here."""

import pytest
import torch

from tests.models import zoo

MODELS = sorted(zoo.INPUTS)


@pytest.mark.parametrize("name", MODELS)
def test_model_summary_matches_a_real_forward_pass(nnstudio, name):
    inputs = zoo.INPUTS[name]
    args = ["summary", "--model", f"tests/models/zoo.py:{name}", "--json"]
    for shape, dtype in inputs:
        args += ["--input-shape", ",".join(map(str, shape)), "--input-dtype", dtype]
    result = nnstudio(*args)
    assert result.code == 0, result.err
    report = result.json()

    torch.manual_seed(0)
    model = getattr(zoo, name)()
    truth = zoo.real_forward_truth(model, inputs)
    rows = {row["path"]: row for row in report["layers"]}
    assert list(rows) == [path for path, _ in model.named_modules()][1:]
    for path, expected in truth.items():
        if path == "":
            continue
        assert rows[path]["params"] == expected["params"], path
        assert rows[path]["output_shape"] == expected["output_shape"], path
    assert report["total_params"] == sum(p.numel() for p in model.parameters())


USER_MODULE = '''
import torch
from torch import nn


class Gated(nn.Module):
    """A user's own module: its own Parameter, a loop and an in-place op in its forward."""

    def __init__(self, width=16):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(width))
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(3))

    def forward(self, x):
        for block in self.blocks:
            x = torch.sigmoid(block(x)) * x * self.scale
        return x.relu_()
'''


def test_a_user_module_gets_flops_activations_and_plain_sgd_memory(nnstudio, tmp_path):
    from tests.models.counting_truth import flop_truth, saved_truth

    (tmp_path / "gated.py").write_text(USER_MODULE)
    args = ["summary", "--model", f"{tmp_path / 'gated.py'}:Gated", "--model-kwargs", '{"width": 16}']
    result = nnstudio(*args, "--input-shape", "4,16", "--device", "cpu", "--json")
    assert result.code == 0, result.err
    report = result.json()

    namespace: dict = {}
    exec(USER_MODULE, namespace)
    model = namespace["Gated"](16)
    x = torch.randn(4, 16)
    flops, total_flops = flop_truth(model, [x])
    saved, total_saved = saved_truth(model, [x])
    assert report["total_flops"] == total_flops > 0
    assert {row["path"]: row["flops"] for row in report["layers"]} == flops
    assert {row["path"]: row["activation_bytes"] for row in report["layers"]} == saved
    params = sum(p.numel() for p in model.parameters()) * 4
    assert report["memory"] == {
        "parameters": params,
        "gradients": params,
        "optimizer_state": 0,
        "activations": total_saved,
        "total": 2 * params + total_saved,
    }
    assert report["fit"]["device"] == "cpu" and report["fit"]["fits"] is True
    assert report["fit"]["batch_size"] == 4 and report["fit"]["max_batch_size"] > 4


def test_without_a_device_there_is_no_fit_and_a_missing_one_says_so(nnstudio):
    base = ["summary", "--model", "tests/models/zoo.py:LeNet5", "--input-shape", "2,1,32,32", "--json"]
    assert nnstudio(*base).json()["fit"] is None
    far = nnstudio(*base, "--device", "cuda:7").json()["fit"]
    assert far == {"device": "cuda:7", "capacity": None, "batch_size": 2, "fits": None, "max_batch_size": None}
    bad = nnstudio(*base, "--device", "gpu0")
    assert bad.code == 2 and "--device" in bad.err
