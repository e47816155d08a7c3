"""Meta-device analysis: shapes, counts, errors that name the layer, and no side effects."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from app.cli.bench_analysis import measure
from app.errors import ShapeError
from app.network.analysis import LayerRow, analyse, analyse_spec, shape_of
from app.network.build import build
from app.network.inputs import InputSpec
from app.network.spec import container, layer


def lenet_spec():
    return container(
        "Sequential",
        container(
            "Sequential",
            layer("Conv2d", in_channels=1, out_channels=6, kernel_size=5),
            layer("BatchNorm2d", num_features=6),
            layer("ReLU"),
            layer("MaxPool2d", kernel_size=2),
            layer("Conv2d", in_channels=6, out_channels=16, kernel_size=5),
            layer("ReLU"),
            layer("MaxPool2d", kernel_size=2),
            name="features",
        ),
        layer("Flatten", name="flatten"),
        container(
            "Sequential",
            layer("Linear", in_features=400, out_features=120),
            layer("Linear", in_features=120, out_features=10),
            name="classifier",
        ),
    )


def real_numbers(module: nn.Module, *inputs: torch.Tensor) -> dict[str, dict]:
    """Shapes and counts from a real CPU forward, computed here rather than stored."""
    found = {}
    for path, sub in module.named_modules():
        found[path] = {
            "params": sum(p.numel() for p in sub.parameters()),
            "buffers": sum(b.numel() for b in sub.buffers()),
            "output_shape": None,
        }
    paths = {id(m): p for p, m in module.named_modules()}
    handles = [
        m.register_forward_hook(lambda mod, a, out: found[paths[id(mod)]].__setitem__("output_shape", shape_of(out)))
        for m in module.modules()
    ]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return found


def all_hooks_removed(module: nn.Module) -> bool:
    return all(
        not m._forward_hooks
        and not m._forward_pre_hooks
        and not m._forward_hooks_with_kwargs
        and not m._forward_pre_hooks_with_kwargs
        for m in module.modules()
    )


def test_shapes_and_counts_match_a_real_cpu_module():
    spec = lenet_spec()
    analysis = analyse_spec(spec, [InputSpec([8, 1, 32, 32])])
    real = build(spec, device="cpu")
    truth = real_numbers(real, torch.randn(8, 1, 32, 32))

    assert analysis.error is None
    assert [row.path for row in analysis.rows] == [p for p, _ in real.named_modules()][1:]
    for row in analysis.rows:
        assert row.output_shape == truth[row.path]["output_shape"], row.path
        assert (row.params, row.buffers) == (truth[row.path]["params"], truth[row.path]["buffers"]), row.path
        assert row.status == "ok" and row.calls == 1
    assert analysis.output_shape == [8, 10]
    assert analysis.row("classifier.0").input_shape == [8, 400]
    assert analysis.total_params == sum(p.numel() for p in real.parameters())
    assert analysis.total_buffers == sum(b.numel() for b in real.buffers())
    assert analysis.param_bytes == 4 * analysis.total_params
    assert analysis.buffer_bytes == sum(b.numel() * b.element_size() for b in real.buffers())


def test_to_json_has_exactly_the_documented_keys():
    data = analyse_spec(lenet_spec(), [InputSpec([2, 1, 32, 32])]).to_json()
    assert set(data) == {
        "layers",
        "total_params",
        "trainable_params",
        "total_buffers",
        "param_bytes",
        "output_shape",
        "total_flops",
        "error",
    }
    assert set(data["layers"][0]) == {
        "path",
        "type",
        "input_shape",
        "output_shape",
        "params",
        "trainable_params",
        "buffers",
        "status",
        "flops",
        "activation_bytes",
    }
    assert data["error"] is None and data["output_shape"] == [2, 10]


def test_a_mismatch_names_the_layer_and_what_it_expected():
    spec = lenet_spec()
    spec.children[2].children[0].args["in_features"] = 500
    analysis = analyse_spec(spec, [InputSpec([8, 1, 32, 32])])

    assert isinstance(analysis.error, ShapeError)
    assert analysis.error.where == "classifier.0"
    assert str(analysis.error) == "classifier.0 (Linear): input (8, 400) but in_features=500"
    status = {row.path: row.status for row in analysis.rows}
    assert status["features.4"] == "ok" and status["flatten"] == "ok"
    assert status["classifier.0"] == "failed"
    assert status["classifier.1"] == "not computed"
    assert status["classifier"] == "not computed"  # entered, but its child failed inside it
    failed = analysis.row("classifier.0")
    assert failed.message == "input (8, 400) but in_features=500"
    assert failed.input_shape == [8, 400] and failed.output_shape is None
    assert analysis.output_shape is None
    assert analysis.to_json()["error"] == str(analysis.error)


@pytest.mark.parametrize(
    "module, inputs, expected",
    [
        (nn.Conv2d(3, 8, 3), [InputSpec([2, 4, 16, 16])], "has 4 channels (dim 1) but in_channels=3"),
        (nn.Conv2d(3, 8, 5), [InputSpec([2, 3, 3, 3])], "spatial size 3x3 (padded 3x3) is smaller than the kernel 5x5"),
        (nn.Conv1d(3, 8, 3), [InputSpec([2, 3, 4, 4, 4])], "must be 2D (unbatched) or 3D (batched), got 5D"),
        (nn.ConvTranspose2d(16, 8, 2), [InputSpec([2, 8, 4, 4])], "has 8 channels (dim 1) but in_channels=16"),
        (nn.BatchNorm2d(16), [InputSpec([2, 32, 4, 4])], "has 32 channels (dim 1) but num_features=16"),
        (nn.BatchNorm2d(16), [InputSpec([2, 16])], "must be 4D, got 2D"),
        (nn.InstanceNorm2d(16, affine=True), [InputSpec([2, 8, 4, 4])], "has 8 channels (dim 1) but num_features=16"),
        (nn.LayerNorm([4, 64]), [InputSpec([2, 4, 32])], "ends in (4, 32) but normalized_shape=(4, 64)"),
        (nn.RMSNorm(64), [InputSpec([2, 32])], "ends in (32) but normalized_shape=(64,)"),
        (nn.GroupNorm(4, 32), [InputSpec([2, 16, 8])], "has 16 channels (dim 1) but num_channels=32"),
        (nn.Embedding(10, 4), [InputSpec([2, 5])], "needs an integer dtype (int64 or int32), got float32"),
        (nn.LSTM(32, 8), [InputSpec([5, 2, 16])], "has 16 features on the last dim but input_size=32"),
        (nn.GRU(32, 8), [InputSpec([5, 2, 3, 32])], "must be 2D (L, H_in) or 3D, got 4D"),
        (
            nn.MultiheadAttention(16, 2),
            [InputSpec([5, 2, 8])] * 3,
            "query has 8 features on the last dim but embed_dim=16",
        ),
        (
            nn.Bilinear(3, 5, 7),
            [InputSpec([2, 3]), InputSpec([2, 4])],
            "input (2, 3), (2, 4) but in1_features=3, in2_features=5",
        ),
        (nn.Linear(4, 2), [InputSpec([2, 4], "int64")], "input (2, 4) is int64 but the weights are float32"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, nn.Module) else None,
)
def test_each_family_says_what_it_expected(module, inputs, expected):
    analysis = analyse(module, inputs)
    assert analysis.error is not None
    assert analysis.error.where == "model"
    assert str(analysis.error).startswith(f"model ({type(module).__name__}): ")
    assert expected in str(analysis.error)
    assert all_hooks_removed(module)


def test_unknown_failures_quote_torchs_first_line():
    class Picky(nn.Module):
        def forward(self, x):
            raise ValueError("picky wants 7 dims\nsecond line")

    analysis = analyse(nn.Sequential(nn.Identity(), Picky()), [InputSpec([3, 2])])
    assert str(analysis.error) == "1 (Picky): input (3, 2): picky wants 7 dims"


class Joiner(nn.Module):
    """Concatenates two branches along the batch dim: fine or not depending on the shapes."""

    def __init__(self, left: int, right: int) -> None:
        super().__init__()
        self.left = nn.Linear(4, left)
        self.right = nn.Linear(4, right)

    def forward(self, x):
        return torch.cat([self.left(x), self.right(x)], dim=0)


def test_an_error_in_a_parents_own_code_is_the_parents():
    inner = nn.Sequential(nn.Identity(), Joiner(3, 5))
    analysis = analyse(inner, [InputSpec([2, 4])])
    assert analysis.error.where == "1"
    assert str(analysis.error).startswith("1 (Joiner): input (2, 4): ")
    status = {row.path: row.status for row in analysis.rows}
    assert status == {"0": "ok", "1": "failed", "1.left": "ok", "1.right": "ok"}

    root = analyse(Joiner(3, 5), [InputSpec([2, 4])])
    assert root.error.where == "model"
    assert str(root.error).startswith("model (Joiner): input (2, 4): ")
    assert all(row.status == "ok" for row in root.rows)


def test_modules_that_never_run_are_marked_not_called():
    spec = container(
        "Chain",
        container("ModuleList", layer("Linear", in_features=4, out_features=4), layer("ReLU")),
        layer("MultiheadAttention", embed_dim=4, num_heads=2),
        layer("TakeOutput", index=0),
    )
    analysis = analyse_spec(spec, [InputSpec([3, 4])])
    # Chain calls attention with one argument: Chain is the wrong container, not the layer.
    assert analysis.error is not None
    holder = analysis.row("0")
    assert holder.status == "not called"
    assert holder.message == "ModuleList has no forward; its parent runs its children"
    assert analysis.row("0.0").status == "ok"

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)

    analysis = analyse(SelfAttention(), [InputSpec([5, 2, 16])])
    assert analysis.error is None
    assert analysis.output_shape == [[5, 2, 16], None]
    attn, out_proj = analysis.row("attn"), analysis.row("attn.out_proj")
    assert attn.status == "ok" and attn.input_shape == [[5, 2, 16]] * 3
    assert out_proj.status == "not called" and out_proj.calls == 0
    assert "attn (MultiheadAttention)" in out_proj.message
    assert out_proj.params == 16 * 16 + 16


def test_embedding_takes_int64_and_rnn_tuples_nest():
    spec = container(
        "Sequential",
        layer("Embedding", num_embeddings=100, embedding_dim=8),
        layer("LSTM", input_size=8, hidden_size=6, num_layers=2, batch_first=True),
        layer("TakeOutput", index=0),
        layer("GRU", input_size=6, hidden_size=5, batch_first=True),
    )
    analysis = analyse_spec(spec, [InputSpec([3, 7], "int64")])
    assert analysis.error is None
    assert analysis.row("0").output_shape == [3, 7, 8]
    assert analysis.row("1").output_shape == [[3, 7, 6], [[2, 3, 6], [2, 3, 6]]]
    assert analysis.row("3").output_shape == [[3, 7, 5], [1, 3, 5]]
    real = build(spec, device="cpu")
    truth = real_numbers(real, torch.randint(0, 100, (3, 7)))
    assert all(row.output_shape == truth[row.path]["output_shape"] for row in analysis.rows)
    assert analysis.output_shape == truth[""]["output_shape"]


def test_hooks_are_removed_after_success_and_after_failure():
    model = build(lenet_spec(), device="cpu")
    analyse(model, [InputSpec([2, 1, 32, 32])])
    assert all_hooks_removed(model)
    analysis = analyse(model, [InputSpec([2, 3, 32, 32])])
    assert analysis.error.where == "features.0"
    assert all_hooks_removed(model)


def test_the_users_cpu_module_is_untouched():
    model = build(lenet_spec(), device="cpu")
    model[2][1].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    analysis = analyse(model, [InputSpec([4, 1, 32, 32])])
    assert analysis.error is None
    for key, value in model.state_dict().items():
        assert value.device.type == "cpu" and not value.is_meta
        assert torch.equal(value, before[key]), key  # BatchNorm ran in train mode: stats unchanged
    assert model[0][1].num_batches_tracked.item() == 0
    assert isinstance(model[2][1].weight, nn.Parameter) and not model[2][1].weight.requires_grad
    frozen = 120 * 10
    assert analysis.trainable_params == analysis.total_params - frozen
    assert analysis.row("classifier").trainable_params == analysis.row("classifier").params - frozen


def test_the_forward_sees_meta_stand_ins_with_the_users_requires_grad():
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.b.requires_grad_(False)

        def forward(self, x):
            seen.append((self.a.weight.is_meta, self.a.weight.requires_grad, self.b.weight.requires_grad))
            h0 = torch.zeros(x.shape[0], 2)  # a factory call with no device lands on meta too
            return self.b(self.a(x)) + h0

    spy = Spy()
    analysis = analyse(spy, [InputSpec([3, 2])])
    assert analysis.error is None and analysis.output_shape == [3, 2]
    assert seen == [(True, True, False)]
    assert not spy.a.weight.is_meta


def test_without_inputs_only_counts_are_filled():
    analysis = analyse_spec(lenet_spec(), None)
    assert analysis.error is None and analysis.output_shape is None
    assert analysis.total_params == sum(p.numel() for p in build(lenet_spec(), "meta").parameters())
    assert all(
        row.status == "not computed" and row.message == "no input shape given" and row.input_shape is None
        for row in analysis.rows
    )
    assert analysis.row("classifier").params == 400 * 120 + 120 + 120 * 10 + 10


def test_shared_modules_count_once_and_record_every_call():
    shared = nn.Linear(8, 8)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    analysis = analyse(model, [InputSpec([2, 8])])
    assert [row.path for row in analysis.rows] == ["0", "1"]
    assert analysis.row("0").calls == 2
    assert analysis.total_params == 8 * 8 + 8


def test_a_billion_parameter_spec_allocates_nothing_real():
    spec = container("Sequential", *[layer("Linear", in_features=8192, out_features=8192) for _ in range(20)])
    analysis, _, grown_mb = measure(lambda: analyse_spec(spec, [InputSpec([4, 8192])]))
    per_layer = 8192 * 8192 + 8192
    assert analysis.error is None and analysis.output_shape == [4, 8192]
    assert analysis.total_params == 20 * per_layer
    assert analysis.param_bytes == 4 * 20 * per_layer  # 5.4 GB, had it been real
    assert grown_mb < 200


def test_layer_row_defaults_to_no_message():
    row = LayerRow("a", "Linear", None, None, 0, 0, 0, "ok", 1)
    assert row.message == ""


def test_a_packed_sequence_with_an_initial_state_is_not_mistaken_for_a_bad_input():
    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 6)

        def forward(self, x):
            packed = nn.utils.rnn.PackedSequence(x, torch.ones(3, dtype=torch.int64, device="cpu"))
            return self.gru(packed, torch.zeros(1, 1, 6))[1]

    model = Packed()
    real = model(torch.randn(3, 4)).shape
    analysis = analyse(model, [InputSpec([3, 4])])
    assert analysis.error is None, str(analysis.error)
    assert analysis.output_shape == list(real)


def test_a_forward_that_catches_a_childs_error_still_records_the_rest():
    class Fallback(nn.Module):
        def __init__(self):
            super().__init__()
            self.wide = nn.Linear(8, 2)
            self.narrow = nn.Linear(4, 2)

        def forward(self, x):
            try:
                return self.wide(x)
            except Exception:
                return self.narrow(x)

    model = nn.Sequential(Fallback(), nn.ReLU())
    analysis = analyse(model, [InputSpec([3, 4])])
    assert analysis.error is None and analysis.output_shape == [3, 2]
    assert analysis.row("0").output_shape == [3, 2] and analysis.row("1").status == "ok"
    assert all_hooks_removed(model)
