"""``generate_script``: a standalone script that makes the model, optimizer and data nnstudio makes."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
import torch

from app.errors import NNStudioError
from app.interop.script import generate_script
from app.project.project_file import load_project, parse_project
from app.setup.optim import build_optimizer
from app.training.engine import Engine
from app.training.prepare import make_model, optimizer_config, prepare
from tests.core.export_helpers import import_script, imports_by_scope, mixed_project, same_tensors, write_script
from tests.core.project_helpers import EXAMPLES, allowed_example

STANDARD_LIBRARY = set(sys.stdlib_module_names)

DRIVER = """
import json, sys, torch
sys.path.insert(0, sys.argv[1])
import model as script

model = script.build_model()
optimizer = script.build_optimizer(model)
torch.save(model.state_dict(), sys.argv[2])
print(json.dumps({
    "model": repr(model), "optimizer": repr(optimizer),
    "training": [m.training for m in model.modules()],
    "requires_grad": [p.requires_grad for p in model.parameters()],
    "nnstudio_loaded": any(name == "app" or name.startswith("app.") for name in sys.modules),
}))
"""


def app_model_and_optimizer(project):
    model = make_model(project, use_weights=False)
    optimizer, _ = build_optimizer(model, optimizer_config(project))
    return model, optimizer


@pytest.mark.parametrize("example", ["cnn", "gru", "resnet_block", "seed_add_module"])
def test_the_script_makes_the_examples_model_and_optimizer_bit_for_bit(example, tmp_path):
    project = load_project(EXAMPLES / f"{example}.nnproj")
    write_script(project, tmp_path)
    (tmp_path / "driver.py").write_text(DRIVER)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path), str(tmp_path / "state.pt")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    model, optimizer = app_model_and_optimizer(project)
    assert same_tensors(torch.load(tmp_path / "state.pt", weights_only=True), model.state_dict())
    assert seen["model"] == repr(model)
    assert seen["optimizer"] == repr(optimizer)
    assert seen["training"] == [m.training for m in model.modules()]
    assert seen["requires_grad"] == [p.requires_grad for p in model.parameters()]
    assert not seen["nnstudio_loaded"]


def imported_modules(text: str) -> set[str]:
    return set().union(*imports_by_scope(text).values())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.nnproj")), ids=lambda p: p.stem)
def test_the_script_imports_only_torch_and_the_standard_library(path):
    text = generate_script(allowed_example(path))
    assert imported_modules(text) <= STANDARD_LIBRARY | {"torch"}
    assert "import app" not in text and "nnstudio import" not in text
    assert text.rstrip().endswith('if __name__ == "__main__":\n    main()')


@pytest.mark.parametrize(
    "dataset",
    [
        {"name": "npz", "path": "arrays.npz"},
        {"name": "csv", "path": "table.csv", "target": "kind"},
        *[{"name": name} for name in ("spirals", "blobs", "moons", "xor", "sine", "shapes28", "shapes32", "tokens")],
    ],
    ids=lambda d: d["name"],
)
def test_only_an_npz_script_imports_numpy_and_only_inside_its_reader(dataset):
    training = {**mixed_project()["training"], "dataset": dataset}
    scopes = imports_by_scope(generate_script(parse_project(mixed_project(training=training))))
    where = {scope for scope, modules in scopes.items() if "numpy" in modules}
    assert where == ({"read_npz"} if dataset["name"] == "npz" else set())
    assert set().union(*scopes.values()) <= STANDARD_LIBRARY | {"torch", "numpy"}


def test_every_container_glue_block_init_freeze_mode_and_group_matches_make_model(tmp_path):
    project = parse_project(mixed_project())
    script = import_script(write_script(project, tmp_path), "mixed_script")
    model, optimizer = app_model_and_optimizer(project)
    mine = script.build_model()
    assert repr(mine) == repr(model)
    assert same_tensors(mine.state_dict(), model.state_dict())
    assert repr(script.build_optimizer(mine)) == repr(optimizer)
    assert [p.requires_grad for p in mine.parameters()] == [p.requires_grad for p in model.parameters()]
    for switch in ("train", "eval", "train"):  # the pinned Chain keeps eval mode through both
        getattr(mine, switch)()
        getattr(model, switch)()
        assert [m.training for m in mine.modules()] == [m.training for m in model.modules()]
    assert not mine.get_submodule("3").training
    x = torch.randn(16, 2)
    mine.eval(), model.eval()
    assert torch.equal(mine(x), model(x))  # the glue blocks' forward, too


WIDE_NETWORK = {
    "type": "Sequential",
    "children": [
        {"type": "Embedding", "args": {"num_embeddings": 50, "embedding_dim": 16, "padding_idx": 0}},
        {
            "type": "LSTM",
            "args": {
                "input_size": 16,
                "hidden_size": 8,
                "num_layers": 2,
                "bidirectional": True,
                "batch_first": True,
                "proj_size": 4,
            },
        },
        {"type": "TakeOutput"},
        {
            "type": "TransformerEncoder",
            "args": {"num_layers": 2, "enable_nested_tensor": False},
            "children": [
                {
                    "name": "encoder_layer",
                    "type": "TransformerEncoderLayer",
                    "args": {
                        "d_model": 8,
                        "nhead": 2,
                        "dim_feedforward": 32,
                        "activation": "gelu",
                        "batch_first": True,
                    },
                },
                {"name": "norm", "type": "LayerNorm", "args": {"normalized_shape": [8], "eps": 1e-6}},
            ],
        },
        {"type": "Permute", "args": {"dims": [0, 2, 1]}},
        {
            "type": "Conv1d",
            "args": {
                "in_channels": 8,
                "out_channels": 4,
                "kernel_size": 3,
                "padding": "same",
                "padding_mode": "reflect",
            },
        },
        {"type": "Upsample", "args": {"scale_factor": 2.0, "mode": "linear"}},
        {"type": "Unflatten", "args": {"dim": 1, "unflattened_size": [2, 2]}},
        {"type": "AdaptiveAvgPool2d", "args": {"output_size": [None, 3]}},
        {"type": "PReLU", "args": {"num_parameters": 2, "init": 0.1}},
        {"type": "RNN", "args": {"input_size": 3, "hidden_size": 3, "nonlinearity": "relu"}},
        {"type": "Bilinear", "args": {"in1_features": 3, "in2_features": 3, "out_features": 2}},
        {"type": "MultiheadAttention", "args": {"embed_dim": 8, "num_heads": 2, "kdim": 4, "vdim": 4}},
        {"type": "Reshape", "args": {"shape": [-1]}},
    ],
}


@pytest.mark.filterwarnings("ignore")
def test_arguments_of_every_kind_and_slot_blocks_are_written_as_torch_takes_them(tmp_path):
    data = mixed_project(
        network=WIDE_NETWORK,
        init={"seed": 3},
        freeze=[],
        mode={"training": False},
        optimizer={"type": "SGD", "defaults": {"lr": 0.1}},
        scheduler=None,
        training=None,
    )
    project = parse_project(data)
    text = generate_script(project)
    assert "norm=nn.LayerNorm(normalized_shape=(8,), eps=1e-06)," in text
    assert "nn.AdaptiveAvgPool2d(output_size=(None, 3))" in text and "padding='same'" in text
    script = import_script(write_script(project, tmp_path), "wide")
    model, optimizer = app_model_and_optimizer(project)
    mine = script.build_model()
    assert repr(mine) == repr(model) and not mine.training
    assert same_tensors(mine.state_dict(), model.state_dict())
    assert repr(script.build_optimizer(mine)) == repr(optimizer)


def test_the_script_reads_like_torch_code(tmp_path):
    text = generate_script(parse_project(mixed_project()))
    assert "network.add_module('1', sequential)" in text  # named children: add_module, as in the seed note
    assert "sequential.add_module('a', nn.Linear(in_features=8, out_features=8))" in text
    assert "nn.ModuleList([" in text and "join='sum'," in text
    assert "class Residual(nn.Module):" in text and "class Parallel(nn.Module):" in text
    assert "class TakeOutput" not in text  # only the glue blocks the network uses
    assert "torch.manual_seed(INIT_SEED)" in text and "INIT_SEED = 7" in text
    assert "nn.init.orthogonal_(model.get_parameter('2.0.weight'), gain=0.5)  # rule 2" in text
    assert "pin_mode(model.get_submodule('3'), False)" in text
    assert "torch.optim.AdamW(groups, lr=0.01, betas=(0.8, 0.99))" in text
    assert "nothing_here" not in text  # a group that selects nothing is not a torch group
    simple = generate_script(load_project(EXAMPLES / "spirals.nnproj"))
    assert "return torch.optim.Adam(model.parameters(), lr=0.01)" in simple
    assert "return nn.Sequential(\n        nn.Linear(in_features=2, out_features=64),\n" in simple


@pytest.mark.parametrize(
    "scheduler, val_split",
    [
        ({"type": "OneCycleLR", "args": {"pct_start": 0.4}}, 0.25),
        ({"type": "ReduceLROnPlateau", "args": {"factor": 0.5, "patience": 1}}, 0.25),
        ({"type": "ReduceLROnPlateau", "args": {"factor": 0.5, "patience": 1}}, 0.0),  # on the training loss
        ({"type": "StepLR", "args": {"step_size": 1, "gamma": 0.5}}, 0.25),
        ({"type": "CosineAnnealingLR"}, 0.25),
        (None, 0.1),
    ],
    ids=["onecycle", "plateau", "plateau-no-validation", "step", "cosine", "none"],
)
def test_the_scripts_training_loop_reaches_the_engines_weights_bit_for_bit(scheduler, val_split, tmp_path, capsys):
    data = mixed_project(scheduler=scheduler)
    data["training"]["val_split"] = val_split
    project = parse_project(data)
    setup = prepare(project)
    events = list(Engine(setup).run())
    assert type(events[-1]).__name__ == "Finished", events[-1]
    script = import_script(write_script(project, tmp_path), "loop")
    script.main(["--save", str(tmp_path / "trained.pt")])
    assert same_tensors(torch.load(tmp_path / "trained.pt", weights_only=True), setup.core.state_dict())
    printed = capsys.readouterr().out
    assert "epoch 1/2: loss" in printed and "epoch 2/2: loss" in printed
    assert ("val_loss" in printed) == (val_split > 0)


def test_a_project_without_training_gives_a_script_that_prints_the_model(tmp_path, capsys):
    project = parse_project(mixed_project(training=None, scheduler=None))
    text = generate_script(project)
    assert "import numpy" not in text and "def load_data" not in text
    script = import_script(write_script(project, tmp_path), "no_training")
    script.main()
    model, optimizer = app_model_and_optimizer(project)
    assert capsys.readouterr().out == f"{model}\n{optimizer}\n"


def test_project_text_cannot_put_code_into_the_script(tmp_path):
    evil = '"""\nimport os\nos.system("echo hacked")\n"""\\'
    data = mixed_project(name=evil, description=evil + '\0\u2028x"')
    data["init"]["rules"][2]["select"]["paths"].append("nothing\nimport os")
    project = parse_project(data)
    text = generate_script(project)
    assert imported_modules(text) <= STANDARD_LIBRARY | {"torch"}
    assert "os" not in {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}
    script = import_script(write_script(project, tmp_path), "evil")
    assert "import os" in script.__doc__  # harmless text in the docstring
    assert same_tensors(script.build_model().state_dict(), make_model(project, use_weights=False).state_dict())


def test_the_script_refuses_what_make_model_refuses():
    data = mixed_project()
    data["init"]["rules"].insert(0, {"select": "5.weight", "scheme": "xavier_normal"})  # a 1-D BatchNorm weight
    with pytest.raises(NNStudioError) as made:
        make_model(parse_project(data), use_weights=False)
    with pytest.raises(NNStudioError) as exported:
        generate_script(parse_project(data))
    assert str(exported.value) == str(made.value)
    assert exported.value.where == "init.rules[0]"
    frozen = mixed_project(freeze=["0", "1", "2", "3", "4", "5", "7"])
    with pytest.raises(NNStudioError, match="no trainable parameters"):
        generate_script(parse_project(frozen))
