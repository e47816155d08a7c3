"""Fuzzing the loader from the example files: every mutated file loads or raises one
NNStudioError that says where; never another exception, never a hang."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import NNStudioError
from app.network.catalog import catalog
from app.project.project_file import load_project

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "resources" / "examples").glob("*.nnproj"))
DOCUMENTS = [json.loads(p.read_text("utf-8")) for p in EXAMPLES]
SETTINGS = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

catalog()  # read torch's signatures once, outside the timed examples

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
awkward_ints = st.integers() | st.sampled_from([0, -1, -(2**63), 2**31, 2**31 - 1, 2**64, 10**40, 10**99])


def paths(value, prefix=()):
    """Every (path) inside a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, prefix + (index,))


PATHS = [(i, path) for i, doc in enumerate(DOCUMENTS) for path in paths(doc) if path]


def replaced(index: int, path: tuple, value=None, drop: bool = False):
    data = copy.deepcopy(DOCUMENTS[index])
    target = data
    for key in path[:-1]:
        target = target[key]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def outcome(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.nnproj"
    path.write_bytes(data)
    try:
        load_project(path)
    except NNStudioError as error:
        assert error.where and str(error).strip()
        assert error.message.strip()


def dumped(value) -> bytes:
    return json.dumps(value).encode("utf-8")


@SETTINGS
@given(target=st.sampled_from(PATHS))
def test_dropping_any_key_or_item(tmp_path, target):
    outcome(tmp_path, dumped(replaced(*target, drop=True)))


@SETTINGS
@given(target=st.sampled_from(PATHS), value=json_values)
def test_replacing_any_value_with_another_json_value(tmp_path, target, value):
    outcome(tmp_path, dumped(replaced(*target, value=value)))


@SETTINGS
@given(target=st.sampled_from(PATHS), value=awkward_ints)
def test_replacing_any_value_with_an_awkward_integer(tmp_path, target, value):
    outcome(tmp_path, dumped(replaced(*target, value=value)))


@SETTINGS
@given(document=st.sampled_from(EXAMPLES), fraction=st.floats(min_value=0, max_value=1))
def test_truncating_the_file_anywhere(tmp_path, document, fraction):
    data = document.read_bytes()
    outcome(tmp_path, data[: int(len(data) * fraction)])


@SETTINGS
@given(document=st.sampled_from(EXAMPLES), garbage=st.binary(max_size=64), at=st.floats(0, 1))
def test_splicing_in_garbage_bytes(tmp_path, document, garbage, at):
    data = document.read_bytes()
    cut = int(len(data) * at)
    outcome(tmp_path, data[:cut] + garbage + data[cut:])


@SETTINGS
@given(data=st.binary(max_size=256))
def test_random_bytes(tmp_path, data):
    outcome(tmp_path, data)


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(PATHS), depth=st.integers(1, 5000), opener=st.sampled_from(["[", '{"a":']))
def test_deep_nesting_anywhere(tmp_path, target, depth, opener):
    closer = "]" if opener == "[" else "}"
    marker = "__DEEP__"
    text = json.dumps(replaced(*target, value=marker))
    text = text.replace(json.dumps(marker), opener * depth + "1" + closer * depth, 1)
    outcome(tmp_path, text.encode("utf-8"))


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "1e999", '"\\udfff"', "[" * 3000, "{" * 3000])
def test_hostile_values_in_the_network(tmp_path, text):
    data = json.dumps(DOCUMENTS[0]).replace('"out_features": 4', f'"out_features": {text}')
    outcome(tmp_path, data.encode("utf-8"))
