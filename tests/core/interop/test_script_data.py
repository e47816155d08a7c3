"""The data half of an exported script: the built-in datasets, their generators' own source, and
the user's CSV / NPZ files give the app's samples and split."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from app.data import synthetic
from app.data.datasets import parse_dataset
from app.data.loading import load_data
from app.interop.script_datasets import generator_source
from app.project.project_file import load_project, parse_project
from app.setup.training_section import parse_training
from tests.core.export_helpers import import_script, imports_by_scope, mixed_project, write_script

STANDARD_LIBRARY = set(sys.stdlib_module_names)


SMALL_DATASETS = [
    {"name": "spirals", "size": 150, "classes": 4, "noise": 0.3, "seed": 1},
    {"name": "blobs", "size": 150, "classes": 5, "spread": 0.7, "noise": 0.2, "seed": 2},
    {"name": "moons", "size": 150, "noise": 0.1, "seed": 3},
    {"name": "xor", "size": 150, "noise": 0.1, "seed": 4},
    {"name": "sine", "size": 150, "noise": 0.1, "seed": 5},
    {"name": "shapes28", "size": 60, "classes": 10, "noise": 0.1, "seed": 6},
    {"name": "shapes32", "size": 60, "classes": 7, "noise": 0.0, "seed": 7},
    {"name": "tokens", "size": 80, "length": 12, "vocab": 50, "noise": 0.1, "seed": 8},
]


def assert_same_data(loaded, project, base_dir):
    """``loaded``, a script's load_data(), holds the very tensors of the app's split."""
    config = parse_training(project.training)
    data = load_data(config.dataset, config.val_split, base_dir)
    (x_train, y_train), (x_val, y_val) = loaded
    expected = (data.x_train, data.y_train, data.x_val, data.y_val)
    for mine, theirs in zip((x_train, y_train, x_val, y_val), expected):
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("dataset", SMALL_DATASETS, ids=lambda d: d["name"])
def test_every_built_in_dataset_gives_the_same_samples_and_split(dataset, tmp_path):
    training = {**mixed_project()["training"], "dataset": dataset, "val_split": 0.3, "seed": 11}
    project = parse_project(mixed_project(training=training))
    script = import_script(write_script(project, tmp_path), f"data_{dataset['name']}")
    assert_same_data(script.load_data(), project, tmp_path)


def test_the_script_carries_app_synthetics_own_definitions_and_only_those_it_needs():
    spirals = generator_source(parse_dataset({"name": "spirals"}))
    for needed in (synthetic.make_spirals, synthetic.balanced_labels, synthetic.uniform, synthetic.normal):
        assert inspect.getsource(needed).rstrip() in spirals
    assert "SHAPE_MASKS" not in spirals and "def make_blobs" not in spirals and "def draw_shapes" not in spirals
    shapes = generator_source(parse_dataset({"name": "shapes28"}))
    for needed in (synthetic.make_shapes, synthetic.draw_shapes, synthetic.box, synthetic.stripes):
        assert inspect.getsource(needed).rstrip() in shapes
    assert "\nSHAPE_RADII = " in shapes and "# Each mask takes u, v" in shapes  # constants, with their comments
    assert "def make_spirals" not in shapes and "def normal" not in shapes


def test_app_synthetic_imports_only_what_every_training_script_imports():
    assert imports_by_scope(inspect.getsource(synthetic)) == {"": {"__future__", "math", "torch"}}


def write_csv(folder):
    rows = ["0.1,2,cat,1.5", "", "3e-3,-1,dog,2.5", "7,8,cat,-1", "0.3333333333, 1 ,bird,0"]
    (folder / "table.csv").write_text("a,b,kind,value\n" + "\n".join(rows * 3) + "\n")


WITHOUT_NUMPY = """
import runpy, sys
sys.modules["numpy"] = None  # `import numpy` fails from here on, as where numpy is not installed
import torch

for script in sys.argv[1:]:
    sys.argv = [script, "--epochs", "0"]
    names = runpy.run_path(script, run_name="__main__")  # main(): the model, the data, no training
    torch.save(names["load_data"](), script + ".data.pt")
"""


def test_the_scripts_of_built_in_datasets_and_csv_run_without_numpy_and_give_the_apps_data(tmp_path):
    write_csv(tmp_path)
    projects, scripts = [], []
    for dataset in [*SMALL_DATASETS, {"name": "csv", "path": str(tmp_path / "table.csv"), "target": "kind"}]:
        training = {**mixed_project()["training"], "dataset": dataset, "val_split": 0.3}
        projects.append(parse_project(mixed_project(training=training)))
        scripts.append(str(write_script(projects[-1], tmp_path, f"data_{dataset['name']}")))
    (tmp_path / "without_numpy.py").write_text(WITHOUT_NUMPY)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "without_numpy.py"), *scripts],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("training samples") == len(scripts)
    for project, script in zip(projects, scripts):  # made in another process: the same tensors all the same
        assert_same_data(torch.load(script + ".data.pt", weights_only=True), project, tmp_path)


@pytest.mark.parametrize(
    "dataset",
    [
        {"name": "csv", "path": "table.csv", "target": "kind"},
        {"name": "csv", "path": "table.csv", "target": "value", "features": ["b", "a"], "task": "regression"},
        {"name": "npz", "path": "arrays.npz", "x": "images", "y": "names"},
        {"name": "npz", "path": "arrays.npz", "x": "ids", "y": "column", "x_dtype": "int64"},
        {"name": "npz", "path": "arrays.npz", "x": "flat", "y": "targets", "task": "regression"},
    ],
    ids=["csv-names", "csv-regression", "npz-string-labels", "npz-ids", "npz-regression"],
)
def test_csv_and_npz_files_are_read_as_the_app_reads_them(dataset, tmp_path):
    write_csv(tmp_path)
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "arrays.npz",
        images=rng.random((30, 2, 3)),
        names=rng.choice(["b", "a", "c"], 30),
        ids=rng.integers(0, 9, (30, 5), dtype=np.int32),
        column=rng.integers(0, 3, (30, 1)).astype(float),
        flat=rng.random(30),
        targets=rng.random(30),
    )
    project_path = tmp_path / "p.nnproj"
    training = {**mixed_project()["training"], "dataset": {**dataset, "seed": 9}}
    project_path.write_text(json.dumps(mixed_project(training=training)))
    project = load_project(project_path)
    script = import_script(write_script(project, tmp_path), "reader")
    assert script.DATA_FILE == str((tmp_path / dataset["path"]).resolve())
    assert_same_data(script.load_data(), project, tmp_path)
