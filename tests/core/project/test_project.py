"""The project document: round trips, every kind of bad file named by its JSON path, migration."""

from __future__ import annotations

import copy
import json

import pytest

from app.errors import ProjectError, SpecError
from app.network.inputs import InputSpec
from app.project.migrations import migrate
from app.project.project_file import (
    VERSION,
    load_project,
    parse_project,
    project_bytes,
    save_project,
)
from tests.core.project_helpers import EXAMPLES, document, error_for, error_for_bytes, small_project

# Round trips ------------------------------------------------------------------------------


def test_save_then_load_gives_an_equal_project(tmp_path):
    project = small_project()
    project.optimizer = {"type": "SGD", "defaults": {"lr": 0.1}, "groups": [{"select": "0", "lr": 0.5}]}
    project.freeze = ["0"]
    project.device = "cuda:1"
    project.mode = {"training": False, "overrides": {"head": True}}
    project.probes = {"modules": ["head"], "every": 5}
    project.init = {"seed": 42, "rules": [{"select": "*", "scheme": "zeros"}]}
    path = tmp_path / "net.nnproj"
    save_project(project, path)
    loaded = load_project(path)
    assert loaded == project
    assert loaded.path == path and project.path == path
    assert loaded.to_json() == project.to_json()


def test_saved_file_is_indented_json_in_to_json_order_with_a_trailing_newline(tmp_path):
    path = tmp_path / "net.nnproj"
    save_project(small_project(), path)
    text = path.read_text("utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "format": "nnstudio-project",\n  "version": 3,')
    assert list(json.loads(text)) == list(small_project().to_json())
    assert '"shape": [2, 3]' in text  # a shape stays on one line
    assert project_bytes(small_project()) == path.read_bytes()


def test_saving_twice_writes_identical_bytes(tmp_path):
    save_project(load_project(EXAMPLES / "cnn.nnproj"), tmp_path / "a.nnproj")
    assert (tmp_path / "a.nnproj").read_bytes() == (EXAMPLES / "cnn.nnproj").read_bytes()


def test_missing_optional_sections_take_their_defaults():
    data = {
        "format": "nnstudio-project",
        "version": 2,
        "inputs": [{"shape": [1, 3]}],
        "network": {"type": "Linear", "args": {"in_features": 3, "out_features": 1}},
    }
    project = parse_project(data)
    assert project.name == "untitled" and project.device == "cpu"
    assert project.mode == {"training": True, "overrides": {}}
    assert project.probes == {"modules": [], "every": 10}
    assert project.init == {"seed": 0, "rules": []}
    assert project.inputs == [InputSpec([1, 3], "float32")]


# Errors, each naming its path --------------------------------------------------------------


def _set(data: dict, path: list, value) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _drop(data: dict, key: str) -> dict:
    data = copy.deepcopy(data)
    del data[key]
    return data


BAD_DOCUMENTS = [
    ("not an object", [1, 2], "(top level)", "must be a JSON object"),
    ("no format", _drop(document(), "format"), "format", "not an nnstudio project"),
    ("no version", _drop(document(), "version"), "version", "missing"),
    ("no network", _drop(document(), "network"), "network", "missing"),
    ("no inputs", _drop(document(), "inputs"), "inputs", "missing"),
    ("wrong format", _set(document(), ["format"], "other-app"), "format", 'must be "nnstudio-project"'),
    ("version a string", _set(document(), ["version"], "2"), "version", "must be an integer"),
    ("version a bool", _set(document(), ["version"], True), "version", "must be an integer"),
    ("version 0", _set(document(), ["version"], 0), "version", "between 1 and 3"),
    ("unknown top key", _set(document(), ["colour"], "red"), "colour", "unknown key"),
    ("name a number", _set(document(), ["name"], 3), "name", "must be a string"),
    ("inputs empty", _set(document(), ["inputs"], []), "inputs", "non-empty list"),
    (
        "shape negative",
        _set(document(), ["inputs"], [{"shape": [2, -3]}]),
        "inputs[0].shape[1]",
        "must be a positive integer, got -3",
    ),
    (
        "dtype unknown",
        _set(document(), ["inputs"], [{"shape": [2], "dtype": "float8"}]),
        "inputs[0].dtype",
        "must be one of",
    ),
    ("input key", _set(document(), ["inputs"], [{"shape": [2], "size": 3}]), "inputs[0].size", "unknown key"),
    ("device", _set(document(), ["device"], "tpu:0"), "device", 'must be "cpu"'),
    ("mode training", _set(document(), ["mode", "training"], "yes"), "mode.training", "true or false"),
    ("mode override", _set(document(), ["mode", "overrides"], {"head": 1}), "mode.overrides.head", "or false (eval)"),
    ("init seed", _set(document(), ["init", "seed"], -1), "init.seed", "from 0 to 2**64-1"),
    ("init rules", _set(document(), ["init", "rules"], {}), "init.rules", "must be a list"),
    ("freeze", _set(document(), ["freeze"], ["a", 2]), "freeze[1]", "must be a path pattern"),
    ("optimizer", _set(document(), ["optimizer"], "adam"), "optimizer", "must be an object"),
    ("optimizer type", _set(document(), ["optimizer"], {"type": "Adamm"}), "optimizer.type", "must be one of"),
    (
        "optimizer lr",
        _set(document(), ["optimizer"], {"defaults": {"lr": -1}}),
        "optimizer.defaults.lr",
        "must not be negative",
    ),
    ("scheduler", _set(document(), ["scheduler"], []), "scheduler", "must be an object"),
    ("training", _set(document(), ["training"], 5), "training", "must be an object"),
    (
        "training loss",
        _set(document(), ["training"], {"dataset": {"name": "xor"}, "loss": {"type": "ReLU"}}),
        "training.loss.type",
        "is not a loss",
    ),
    ("probes every", _set(document(), ["probes", "every"], 0), "probes.every", "from 1 to"),
    ("probes modules", _set(document(), ["probes", "modules"], "head"), "probes.modules", "list of strings"),
    ("weights folder", _set(document(), ["weights"], "../secret.safetensors"), "weights", "plain name"),
    ("weights absolute", _set(document(), ["weights"], "/etc/passwd"), "weights", "plain name"),
    ("weights dotdot", _set(document(), ["weights"], ".."), "weights", "plain name"),
    ("weights number", _set(document(), ["weights"], 7), "weights", "a file name or null"),
    (
        "unknown layer",
        _set(document(), ["network", "children", 1, "type"], "os.system"),
        "network.children[1].type",
        "unknown layer type 'os.system'",
    ),
    (
        "negative features",
        _set(document(), ["network", "children", 2, "args", "out_features"], -3),
        "network.children[2].args.out_features",
        "must be a positive integer, got -3",
    ),
    (
        "mistyped argument",
        _set(document(), ["network", "children", 0, "args", "bias"], "yes"),
        "network.children[0].args.bias",
        "must be true or false",
    ),
    (
        "unknown argument",
        _set(document(), ["network", "children", 0, "args", "colour"], 1),
        "network.children[0].args.colour",
        "has no argument 'colour'",
    ),
    (
        "huge argument",
        _set(document(), ["network", "children", 0, "args", "out_features"], 10**30),
        "network.children[0].args.out_features",
        "must be at most",
    ),
    (
        "dropout p",
        _set(document(), ["network", "children", 1], {"type": "Dropout", "args": {"p": 1.5}}),
        "network.children[1]",
        "Dropout",
    ),
    (
        "heads do not divide",
        _set(
            document(),
            ["network", "children", 1],
            {"type": "MultiheadAttention", "args": {"embed_dim": 10, "num_heads": 3}},
        ),
        "network.children[1]",
        "divisible",
    ),
    (
        "too costly",
        _set(
            document(),
            ["network"],
            {
                "type": "TransformerEncoder",
                "args": {"num_layers": 1000},
                "children": [
                    {"name": "encoder_layer", "type": "TransformerEncoderLayer", "args": {"d_model": 8, "nhead": 2}}
                ],
            },
        ),
        "network",
        "at most",
    ),
]


@pytest.mark.parametrize(
    "data, where, message", [case[1:] for case in BAD_DOCUMENTS], ids=[case[0] for case in BAD_DOCUMENTS]
)
def test_a_bad_document_names_the_path_at_fault(data, where, message):
    error = error_for(data)
    assert isinstance(error, (ProjectError, SpecError))
    assert error.where == where
    assert message in error.message
    assert str(error) == f"{where}: {error.message}"


def test_a_newer_version_says_so():
    error = error_for(_set(document(), ["version"], 7))
    assert error.where == "version"
    assert error.message == "was written by a newer nnstudio (version 7; this one reads up to 3)"


BAD_BYTES = [
    ("not json", b'{"format": "nnstudio-project",\n  "version": 2,\n  oops}', "line 3 column 3"),
    ("empty", b"", "line 1 column 1"),
    ("truncated", json.dumps(document()).encode()[:50], "not valid JSON"),
    ("not utf-8", b'{"name": "\xff\xfe"}', "not UTF-8 text (byte 0xff at offset 10)"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("giant integer", b'{"version": ' + b"9" * 5000 + b"}", "5000 digits"),
]


@pytest.mark.parametrize("data, message", [case[1:] for case in BAD_BYTES], ids=[c[0] for c in BAD_BYTES])
def test_a_file_that_is_not_a_json_object_is_refused_with_where_it_broke(tmp_path, data, message):
    error = error_for_bytes(tmp_path, data)
    assert isinstance(error, ProjectError)
    assert error.where == str(tmp_path / "bad.nnproj")
    assert message in error.message


def test_nan_and_infinity_are_refused_at_their_path(tmp_path):
    text = json.dumps(document()).replace('"out_features": 2', '"out_features": NaN')
    error = error_for_bytes(tmp_path, text.encode())
    assert (error.where, error.message) == (
        "network.children[2].args.out_features",
        "NaN is not a JSON number (numbers must be finite)",
    )
    text = json.dumps(document()).replace('"every": 10', '"every": 1e999')
    error = error_for_bytes(tmp_path, text.encode())
    assert error.where == "probes.every" and "finite" in error.message


def test_nesting_deeper_than_the_limit_but_parseable_is_refused_at_its_path(tmp_path):
    deep = "[" * 500 + "]" * 500
    text = json.dumps(document()).replace('"optimizer": null', f'"optimizer": {{"x": {deep}}}')
    error = error_for_bytes(tmp_path, text.encode())
    assert error.where.startswith("optimizer.x[0][0]") and "nested" in error.message


def test_a_lone_surrogate_is_refused(tmp_path):
    text = json.dumps(document()).replace('"small"', '"\\ud800"')
    error = error_for_bytes(tmp_path, text.encode())
    assert error.where == "name" and "surrogate" in error.message


def test_a_missing_file_is_a_project_error(tmp_path):
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path / "nope.nnproj")
    assert info.value.where == str(tmp_path / "nope.nnproj") and "cannot be read" in info.value.message


def test_a_document_with_duplicate_keys_takes_the_last(tmp_path):
    text = json.dumps(document())[:-1] + ', "name": "second"}'
    path = tmp_path / "dup.nnproj"
    path.write_text(text)
    assert load_project(path).name == "second"


# Migration ---------------------------------------------------------------------------------


def v1_document() -> dict:
    data = document()
    for key in ("inputs", "mode", "probes"):
        del data[key]
    data["version"] = 1
    data["input_shape"] = [4, 3]
    data["input_dtype"] = "float64"
    return data


def test_a_version_1_file_loads_and_saves_as_the_current_version(tmp_path):
    old = tmp_path / "old.nnproj"
    old.write_text(json.dumps(v1_document()))
    project = load_project(old)
    assert project.inputs == [InputSpec([4, 3], "float64")]
    assert project.mode == {"training": True, "overrides": {}}
    assert project.probes == {"modules": [], "every": 10}
    assert project.network == small_project().network
    save_project(project, old)
    saved = json.loads(old.read_text())
    assert saved["version"] == VERSION == 3
    assert "input_shape" not in saved and saved["inputs"] == [{"shape": [4, 3], "dtype": "float64"}]


def test_migration_does_not_modify_its_input_and_defaults_the_dtype():
    data = v1_document()
    del data["input_dtype"]
    before = copy.deepcopy(data)
    migrated = migrate(data)
    assert data == before
    assert migrated["inputs"] == [{"shape": [4, 3], "dtype": "float32"}]


def test_a_bad_version_1_input_shape_is_named_as_it_is_in_the_file():
    data = v1_document()
    data["input_shape"] = [4, 0]
    error = error_for(data)
    assert error.where == "input_shape[1]" and "positive integer" in error.message
    del data["input_shape"]
    assert error_for(data).where == "input_shape"
