"""``nnstudio export``: a runnable PyTorch script, a checked ONNX file, the weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from app.project.project_file import load_project
from app.training.prepare import make_model
from tests.cli.conftest import EXAMPLES

CNN = EXAMPLES / "cnn.nnproj"
SPIRALS = EXAMPLES / "spirals.nnproj"


def python(script, *args, cwd):
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_the_exported_script_runs_on_its_own(nnstudio, tmp_path):
    result = nnstudio("export", CNN, "--code", tmp_path / "m.py")
    assert result.code == 0, result.err
    assert f"code: {tmp_path / 'm.py'}" in result.out
    text = (tmp_path / "m.py").read_text()
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert not any("app" in line.split() or "nnstudio" in line for line in imports), imports
    run = python(tmp_path / "m.py", cwd=tmp_path)  # the project's four epochs
    assert run.returncode == 0, run.stderr
    assert "epoch 4/4: loss" in run.stdout
    assert "Sequential(" in run.stdout and "Adam (" in run.stdout


def test_the_script_trains_to_the_weights_nnstudio_train_reaches(nnstudio, tmp_path):
    assert nnstudio("export", SPIRALS, "--code", tmp_path / "spirals.py").code == 0
    run = python(tmp_path / "spirals.py", "--epochs", "2", "--save", tmp_path / "script.pt", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "epoch 2/2: loss" in run.stdout
    trained = nnstudio("train", SPIRALS, "--epochs", "2", "--out", tmp_path / "run")
    assert trained.code == 0, trained.err
    mine = torch.load(tmp_path / "script.pt", weights_only=True)
    theirs = load_file(str(tmp_path / "run" / "weights.safetensors"))
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_onnx_and_weights_are_written_and_the_onnx_file_passes_the_checker(nnstudio, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    result = nnstudio("export", CNN, "--onnx", tmp_path / "cnn.onnx", "--weights", tmp_path / "cnn.safetensors")
    assert result.code == 0, result.err
    assert "checked with onnx.checker" in result.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.onnx", "cnn.safetensors"]  # no data file beside it
    onnx.checker.check_model(str(tmp_path / "cnn.onnx"))
    graph = onnx.load(str(tmp_path / "cnn.onnx")).graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == ["output"]
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [8, 3, 32, 32]
    weights = load_file(str(tmp_path / "cnn.safetensors"))
    expected = make_model(load_project(CNN)).state_dict()
    assert weights.keys() == expected.keys() and all(torch.equal(weights[k], expected[k]) for k in weights)


def test_a_missing_onnx_extra_names_the_extra_and_writes_nothing(nnstudio, tmp_path):
    shadow = tmp_path / "shadow" / "onnx"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("No module named \'onnx\'", name="onnx")\n')
    out = tmp_path / "out"
    out.mkdir()
    path = os.pathsep.join(filter(None, [str(shadow.parent), os.environ.get("PYTHONPATH")]))
    result = nnstudio("export", CNN, "--code", out / "m.py", "--onnx", out / "m.onnx", env={"PYTHONPATH": path})
    assert result.code == 2
    assert 'pip install "nnstudio[onnx]"' in result.err and "onnx is not installed" in result.err
    assert "Traceback" not in result.err
    assert list(out.iterdir()) == []


def test_export_without_an_output_says_what_to_give(nnstudio):
    result = nnstudio("export", CNN)
    assert result.code == 2
    assert "--code FILE.py, --onnx FILE.onnx and/or --weights FILE.safetensors" in result.err
    assert "Traceback" not in result.err


def test_a_bad_project_is_a_clear_error(nnstudio, tmp_path):
    missing = nnstudio("export", tmp_path / "nope.nnproj", "--code", tmp_path / "m.py")
    assert missing.code == 2 and "nope.nnproj: cannot be read" in missing.err
    broken = tmp_path / "broken.nnproj"
    document = json.loads(CNN.read_text())
    document["network"]["children"][0]["children"][0]["type"] = "Conv9d"
    broken.write_text(json.dumps(document))
    invalid = nnstudio("export", broken, "--code", tmp_path / "m.py")
    assert invalid.code == 2 and "unknown layer type 'Conv9d'" in invalid.err
    assert "Traceback" not in missing.err + invalid.err
    assert not (tmp_path / "m.py").exists()


def test_a_folder_that_does_not_exist_is_a_clear_error(nnstudio, tmp_path):
    result = nnstudio("export", SPIRALS, "--code", tmp_path / "no" / "such" / "m.py")
    assert result.code == 2 and "Traceback" not in result.err
    assert "m.py" in result.err


def test_export_is_listed_in_the_help(nnstudio):
    result = nnstudio("export", "--help")
    assert result.code == 0
    assert "--code FILE.py" in result.out and "--onnx FILE.onnx" in result.out and "--weights" in result.out
