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
