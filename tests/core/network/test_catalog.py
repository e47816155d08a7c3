import inspect

import pytest
from torch import nn

from app.network.catalog import FAMILIES, catalog, layer_type, type_name_of


def test_catalog_holds_at_least_sixty_real_torch_types():
    torch_types = [entry for entry in catalog().values() if entry.cls is getattr(nn, entry.name, None)]
    assert len(torch_types) >= 60


@pytest.mark.parametrize(
    "family, member",
    [
        ("linear", "Linear"),
        ("convolution", "ConvTranspose3d"),
        ("pooling", "AdaptiveAvgPool2d"),
        ("normalization", "GroupNorm"),
        ("normalization", "InstanceNorm2d"),
        ("dropout", "Dropout"),
        ("activation", "GELU"),
        ("recurrent", "LSTM"),
        ("embedding", "Embedding"),
        ("attention", "TransformerEncoderLayer"),
        ("shape", "PixelShuffle"),
        ("shape", "Unflatten"),
        ("loss", "CrossEntropyLoss"),
        ("glue", "Residual"),
    ],
)
def test_every_family_the_palette_shows_has_its_members(family, member):
    assert member in FAMILIES[family]
    assert layer_type(member).family == family


def test_arguments_and_defaults_come_from_the_real_signature():
    conv = layer_type("Conv2d")
    signature = inspect.signature(nn.Conv2d.__init__).parameters
    for arg in conv.args:
        assert arg.name in signature
        if not arg.required:
            assert arg.default == signature[arg.name].default
    assert [a.name for a in conv.args if a.required] == ["in_channels", "out_channels", "kernel_size"]
    assert "device" not in [a.name for a in conv.args]


def test_doc_is_the_first_sentence_of_the_class_docstring():
    assert layer_type("ReLU").doc == "Applies the rectified linear unit function element-wise."
    assert not layer_type("GRU").doc.startswith("__init__")


def test_recurrent_layers_get_rnnbase_arguments_without_mode():
    names = [a.name for a in layer_type("GRU").args]
    assert names[:2] == ["input_size", "hidden_size"] and "mode" not in names and "proj_size" not in names
    assert "proj_size" in [a.name for a in layer_type("LSTM").args]
    assert "nonlinearity" in [a.name for a in layer_type("RNN").args]


def test_module_arguments_are_slots_not_arguments():
    encoder = layer_type("TransformerEncoder")
    assert [s.name for s in encoder.slots] == ["encoder_layer", "norm"]
    assert encoder.slot("encoder_layer").required and not encoder.slot("norm").required


def test_names_outside_the_catalog_are_refused():
    assert layer_type("Conv4d") is None
    assert layer_type("os.system") is None
    assert layer_type(42) is None


def test_subclasses_are_not_mistaken_for_catalog_types():
    class MyLinear(nn.Linear):
        pass

    assert type_name_of(nn.Linear(2, 2)) == "Linear"
    assert type_name_of(MyLinear(2, 2)) is None
