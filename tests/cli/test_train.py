import hashlib
import json
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from app.project.project_file import load_project
from app.training.prepare import make_model
from tests.cli.conftest import EXAMPLES, ROOT

SPIRALS = EXAMPLES / "spirals.nnproj"


def events(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def same_weights(a, b):
    first, second = load_file(str(a)), load_file(str(b))
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_train_writes_metrics_weights_and_a_checkpoint(nnstudio, tmp_path):
    result = nnstudio("train", SPIRALS, "--epochs", "2", "--out", tmp_path)
    assert result.code == 0, result.err
    kinds = [e["event"] for e in events(tmp_path)]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("epoch") == 2 and "step" in kinds and "probesnapshot" in kinds
    for name in ("weights.safetensors", "checkpoint.json", "checkpoint.safetensors"):
        assert (tmp_path / name).exists()
    assert "epoch 2/2" in result.err  # plain lines when stderr is not a terminal
    assert "\r" not in result.err


def test_two_runs_give_identical_weights_and_resume_continues_exactly(nnstudio, tmp_path):
    straight, again, split = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert nnstudio("train", SPIRALS, "--epochs", "2", "--out", straight).code == 0
    assert nnstudio("train", SPIRALS, "--epochs", "2", "--out", again).code == 0
    assert same_weights(straight / "weights.safetensors", again / "weights.safetensors")
    assert nnstudio("train", SPIRALS, "--epochs", "1", "--out", split).code == 0
    resumed = nnstudio("train", SPIRALS, "--epochs", "2", "--out", split, "--resume", split / "checkpoint.json")
    assert resumed.code == 0, resumed.err
    assert same_weights(straight / "weights.safetensors", split / "weights.safetensors")


def test_ctrl_c_stops_after_the_current_step_and_saves(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "train", str(SPIRALS), "--epochs", "100000", "--out", str(tmp_path)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    first_line = process.stderr.readline()  # printed when training has started
    assert first_line.startswith("training on cpu"), first_line
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    assert "resume with --resume" in rest
    last = events(tmp_path)[-1]
    assert last["event"] == "stopped" and last["reason"] == "user"
    checkpoint = json.loads((tmp_path / "checkpoint.json").read_text())
    assert checkpoint["step"] == last["step"]


def test_a_missing_device_is_a_clear_error(nnstudio, tmp_path):
    result = nnstudio("train", SPIRALS, "--device", "cuda:3", "--out", tmp_path)
    assert result.code == 2
    assert "cuda:3 is not available" in result.err and "devices here: cpu" in result.err
    assert "Traceback" not in result.err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("device", ["cuda:0", "dp:0"])
def test_train_on_the_gpu_writes_weights_with_the_networks_own_names(nnstudio, tmp_path, device):
    result = nnstudio("train", SPIRALS, "--epochs", "1", "--device", device, "--out", tmp_path)
    assert result.code == 0, result.err
    assert events(tmp_path)[-1]["event"] == "finished"
    weights = load_file(str(tmp_path / "weights.safetensors"))
    assert weights.keys() == make_model(load_project(SPIRALS)).state_dict().keys()  # no "module." prefix


def test_a_project_without_training_section_says_so(nnstudio, tmp_path):
    project = json.loads(SPIRALS.read_text())
    project["training"] = None
    path = tmp_path / "p.nnproj"
    path.write_text(json.dumps(project))
    result = nnstudio("train", path, "--out", tmp_path)
    assert result.code == 2 and "training: the project has no training section" in result.err


@pytest.mark.parametrize(
    "project, extra",
    [(SPIRALS, ["--epochs", "2"]), (EXAMPLES / "custom_module.nnproj", ["--epochs", "1", "--allow-code"])],
    ids=["spirals", "python-network"],
)
def test_ddp_with_two_processes_ends_with_identical_weights(tmp_path, project, extra):
    completed = subprocess.run(
        # --standalone: a free port for the rendezvous, so a second run on the machine cannot clash with this one
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "app",
            "train",
            str(project),
            "--ddp",
            *extra,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    finished = events(tmp_path)[-1]
    assert finished["event"] == "finished"
    digests = finished["rank_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
    saved = load_file(str(tmp_path / "weights.safetensors"))
    digest = hashlib.sha256()
    for name, tensor in sorted(saved.items()):
        digest.update(name.encode())
        digest.update(tensor.numpy().tobytes())
    assert digest.hexdigest() == digests[0]
