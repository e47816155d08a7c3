import pytest
import torch
from torch import nn

from app.errors import SpecError
from app.network.build import build
from app.network.recover import spec_from_module
from app.network.spec import Node, container, layer

SEED_TEXT = """Sequential(
  (0): Linear(in_features=3, out_features=4, bias=True)
  (1): ReLU()
  (2): Linear(in_features=4, out_features=2, bias=True)
  (3): ReLU()
)"""


def seed_layers():
    return [
        layer("Linear", in_features=3, out_features=4),
        layer("ReLU"),
        layer("Linear", in_features=4, out_features=2),
        layer("ReLU"),
    ]


def test_seed_sequential_prints_pytorchs_own_text():
    model = build(container("Sequential", *seed_layers()))
    assert str(model) == SEED_TEXT
    reference = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU())
    assert str(model) == str(reference)


def test_add_module_names_replace_the_indices():
    children = seed_layers()
    for i, child in enumerate(children, start=1):
        child.name = f"module_name{i}"
    model = build(container("Sequential", *children))
    reference = nn.Sequential()
    for i, module in enumerate([nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()], start=1):
        reference.add_module(f"module_name{i}", module)
    assert str(model) == str(reference)
    assert "(module_name3): Linear(in_features=4, out_features=2, bias=True)" in str(model)


def test_built_parameters_are_seen_by_pytorch():
    model = build(container("Sequential", *seed_layers()))
    assert sum(p.numel() for p in model.parameters()) == 3 * 4 + 4 + 4 * 2 + 2


def test_meta_build_allocates_nothing():
    model = build(container("Sequential", *[layer("Linear", in_features=8192, out_features=8192)] * 30), "meta")
    assert all(p.is_meta for p in model.parameters())


def test_constructor_refusal_names_the_node():
    spec = container("Sequential", layer("ReLU"), layer("MultiheadAttention", embed_dim=10, num_heads=3))
    with pytest.raises(SpecError) as caught:
        build(spec, "meta")
    assert caught.value.where == "network.children[1]"
    assert "divisible" in caught.value.message


RESIDUAL = Node(
    "Residual",
    children=[
        container(
            "Sequential",
            layer("Conv2d", in_channels=4, out_channels=8, kernel_size=3, stride=2, padding=1),
            layer("BatchNorm2d", num_features=8),
            name="body",
        ),
        layer("Conv2d", name="projection", in_channels=4, out_channels=8, kernel_size=1, stride=2),
    ],
)


@pytest.mark.parametrize(
    "spec",
    [
        container("Sequential", *seed_layers()),
        container("Sequential", container("Sequential", *seed_layers(), name="features"), layer("Tanh", name="act")),
        RESIDUAL,
        container(
            "Parallel",
            layer("Linear", in_features=4, out_features=2),
            layer("Linear", in_features=4, out_features=3),
            join="cat",
            dim=-1,
        ),
        container("Chain", container("ModuleList", layer("Linear", in_features=4, out_features=4), layer("GELU"))),
        container(
            "Sequential",
            layer("Embedding", num_embeddings=50, embedding_dim=8),
            layer("GRU", input_size=8, hidden_size=16, batch_first=True),
            layer("TakeOutput", index=1),
        ),
        Node(
            "TransformerEncoder",
            {"num_layers": 2},
            [
                layer(
                    "TransformerEncoderLayer",
                    name="encoder_layer",
                    d_model=16,
                    nhead=2,
                    dim_feedforward=32,
                    batch_first=True,
                    activation="gelu",
                ),
                layer("LayerNorm", name="norm", normalized_shape=16),
            ],
        ),
        container(
            "Sequential",
            layer("Reshape", shape=[4, 2]),
            layer("Permute", dims=[0, 2, 1]),
            layer("MaxPool1d", kernel_size=2),
            layer("Dropout", p=0.25),
            layer("Flatten"),
        ),
    ],
    ids=["seed", "nested-named", "residual", "parallel", "modulelist", "gru", "transformer", "shape-glue"],
)
def test_spec_to_module_to_spec_is_the_identity(spec):
    canonical = Node.from_json(spec.to_json())
    assert spec_from_module(build(canonical)) == canonical
    assert spec_from_module(build(canonical)).to_json() == canonical.to_json()


def test_module_to_spec_reads_handwritten_torch_modules():
    model = nn.Sequential(nn.Conv2d(3, 8, kernel_size=(3, 3), padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
    spec = spec_from_module(model)
    assert spec.children[0].args == {"in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1}
    assert spec.children[2].args == {"inplace": True}
    assert str(build(spec)) == str(model)


def test_custom_modules_are_named_as_not_representable():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) * 2

    with pytest.raises(SpecError) as caught:
        spec_from_module(nn.Sequential(nn.ReLU(), nn.Sequential(Net())))
    assert caught.value.where == "1.0"
    assert "Net" in caught.value.message


def test_glue_blocks_compute_what_they_say():
    torch.manual_seed(0)
    model = build(RESIDUAL)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(model(x), model.projection(x) + model.body(x))
    parallel = build(container("Parallel", layer("Identity"), layer("Identity"), join="sum"))
    assert torch.equal(parallel(x), 2 * x)
    assert build(layer("Reshape", shape=[-1]))(x).shape == (2, 256)
    assert build(container("Chain", container("ModuleList", layer("Linear", in_features=8, out_features=3))))(
        x
    ).shape == (2, 4, 8, 3)
