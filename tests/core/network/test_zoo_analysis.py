"""Every zoo model: the meta analysis agrees with a real CPU forward, module by module."""

from __future__ import annotations

import pytest
import torch

from app.network.analysis import analyse
from app.network.inputs import InputSpec
from tests.models.zoo import INPUTS, MODELS, real_forward_truth


@pytest.mark.parametrize("name", sorted(MODELS))
def test_meta_analysis_matches_real_forward(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    inputs = INPUTS[name]
    analysis = analyse(model, [InputSpec(list(shape), dtype) for shape, dtype in inputs])
    truth = real_forward_truth(model, inputs)

    assert analysis.error is None, str(analysis.error)
    assert [row.path for row in analysis.rows] == [path for path in truth if path]
    assert analysis.output_shape == truth[""]["output_shape"]
    assert analysis.total_params == truth[""]["params"]
    for row in analysis.rows:
        expected = truth[row.path]
        assert row.params == expected["params"], row.path
        if expected["called"]:
            assert row.status == "ok", (row.path, row.message)
            assert row.output_shape == expected["output_shape"], row.path
        else:
            assert row.status == "not called", row.path
            assert row.output_shape is None and row.message


@pytest.mark.parametrize("name", sorted(MODELS))
def test_analysis_leaves_the_real_model_on_cpu_and_unchanged(name):
    model = MODELS[name]()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    analyse(model, [InputSpec(list(shape), dtype) for shape, dtype in INPUTS[name]])
    after = model.state_dict()
    assert all(not t.is_meta and t.device.type == "cpu" for t in after.values())
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_every_zoo_model_has_inputs():
    assert set(INPUTS) == set(MODELS)


def test_zoo_covers_the_paths_users_write():
    # The truth is only worth comparing against if the zoo holds the tricky cases.
    transformer = analyse(MODELS["TinyTransformer"](), [InputSpec([2, 10], "int64")])
    out_proj = transformer.row("encoder.layers.0.self_attn.out_proj")
    assert out_proj is not None and out_proj.status == "not called"
    assert transformer.row("encoder.layers.0.self_attn").output_shape == [[2, 10, 32], None]
    gru = analyse(MODELS["GRUClassifier"](), [InputSpec([2, 12], "int64")])
    assert gru.row("gru").output_shape == [[2, 12, 32], [2, 2, 32]]
    unet = analyse(MODELS["TinyUNet"](), [InputSpec([2, 1, 32, 32])])
    assert unet.row("dec2.0").input_shape == [2, 32, 16, 16]
    assert unet.output_shape == [2, 2, 32, 32]
