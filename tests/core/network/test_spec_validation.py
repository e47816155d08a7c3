import pytest

from app.errors import SpecError
from app.network.spec import MAX_DEPTH, Node


def error_of(data):
    with pytest.raises(SpecError) as caught:
        Node.from_json(data)
    return caught.value


def seq(*children):
    return {"type": "Sequential", "children": list(children)}


LINEAR = {"type": "Linear", "args": {"in_features": 3, "out_features": 4}}


def test_negative_size_is_named_by_its_json_path():
    bad = {"type": "Linear", "args": {"in_features": 3, "out_features": -3}}
    error = error_of(seq(LINEAR, {"type": "ReLU"}, bad))
    assert str(error) == "network.children[2].args.out_features: must be a positive integer, got -3"


@pytest.mark.parametrize(
    "data, where, words",
    [
        ({"type": "Conv4d"}, "network.type", "unknown layer type 'Conv4d'"),
        ({"type": "Linear", "args": {"in_features": 3}}, "network.args", "needs argument 'out_features'"),
        (
            {"type": "Linear", "args": {"in_features": 3, "out_features": 4, "bais": True}},
            "network.args.bais",
            "has no argument 'bais'",
        ),
        (
            {"type": "Linear", "args": {"in_features": "3", "out_features": 4}},
            "network.args.in_features",
            "must be an integer, got '3'",
        ),
        ({"type": "Linear", "args": {"in_features": True, "out_features": 4}}, "network.args.in_features", "got true"),
        (
            {"type": "Conv2d", "args": {"in_channels": 3, "out_channels": 4, "kernel_size": [3, 3, 3]}},
            "network.args.kernel_size",
            "a list of 2 integers",
        ),
        (
            {"type": "Linear", "args": {"in_features": 3, "out_features": 10**40}},
            "network.args.out_features",
            "at most",
        ),
        ({"type": "ReLU", "children": [LINEAR]}, "network.children", "cannot hold children"),
        ({"type": "Linear", "args": [], "children": []}, "network.args", "must be an object"),
        ({"args": {}}, "network", "missing key 'type'"),
        ([], "network", "must be an object"),
        ({"type": "ReLU", "colour": "red"}, "network", "unknown key 'colour'"),
        (seq({"type": "ModuleList"}), "network.children[0]", "put it inside a Chain"),
        ({"type": "Residual"}, "network.children", "needs a child named 'body'"),
        (
            {
                "type": "TransformerEncoder",
                "args": {"num_layers": 100000},
                "children": [{"type": "Identity", "name": "encoder_layer"}],
            },
            "network.args.num_layers",
            "at most",
        ),
    ],
)
def test_each_mistake_names_where_it_is(data, where, words):
    error = error_of(data)
    assert error.where == where
    assert words in error.message


@pytest.mark.parametrize(
    "name, words",
    [
        ("2fast", "not a valid Python identifier"),
        ("my layer", "not a valid Python identifier"),
        ("forward", "already an attribute"),
        ("training", "already an attribute"),
        ("class", "identifier"),
    ],
)
def test_add_module_names_must_be_usable(name, words):
    error = error_of(seq(dict(LINEAR, name=name)))
    assert error.where == "network.children[0].name"
    assert words in error.message


def test_duplicate_names_are_refused():
    error = error_of(seq(dict(LINEAR, name="fc"), {"type": "ReLU", "name": "fc"}))
    assert error.where == "network.children[1].name" and "duplicate name 'fc'" in error.message


def test_deep_nesting_is_refused_cleanly():
    data = {"type": "ReLU"}
    for _ in range(MAX_DEPTH + 5):
        data = seq(data)
    assert "nested more than" in error_of(data).message


def test_defaults_are_dropped_and_uniform_tuples_collapsed():
    node = Node.from_json(
        {
            "type": "Conv2d",
            "args": {"in_channels": 3, "out_channels": 4, "kernel_size": [3, 3], "stride": 1, "bias": True},
        }
    )
    assert node.args == {"in_channels": 3, "out_channels": 4, "kernel_size": 3}


def test_to_json_round_trips():
    data = seq(dict(LINEAR, name="fc"), {"type": "Dropout", "args": {"p": 0.2}})
    assert Node.from_json(data).to_json() == data
