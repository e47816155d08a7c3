import json

from tests.cli.conftest import EXAMPLES

SEED_TEXT = """Sequential(
  (0): Linear(in_features=3, out_features=4, bias=True)
  (1): ReLU()
  (2): Linear(in_features=4, out_features=2, bias=True)
  (3): ReLU()
)
"""


def test_seed_sequential_summary_starts_with_pytorchs_text(nnstudio):
    result = nnstudio("summary", EXAMPLES / "seed_sequential.nnproj")
    assert result.code == 0, result.err
    assert result.out.startswith(SEED_TEXT + "\n")
    assert "Total params: 26" in result.out


def test_add_module_example_prints_its_names(nnstudio):
    result = nnstudio("summary", EXAMPLES / "seed_add_module.nnproj")
    assert result.code == 0, result.err
    assert result.out.startswith(
        SEED_TEXT.replace("(0)", "(module_name1)")
        .replace("(1)", "(module_name2)")
        .replace("(2)", "(module_name3)")
        .replace("(3)", "(module_name4)")
    )


def test_summary_table_lists_every_module_with_shapes(nnstudio):
    result = nnstudio("summary", EXAMPLES / "cnn.nnproj")
    assert result.code == 0, result.err
    table_rows = [line for line in result.out.splitlines() if line.startswith(("features", "classifier"))]
    assert len(table_rows) == 2 + 6 + 6
    assert any(
        line.startswith("classifier.1 (Linear)") and "[8, 400]" in line and "[8, 120]" in line for line in table_rows
    )


def test_json_is_one_object_with_a_row_per_named_module(nnstudio):
    result = nnstudio("summary", EXAMPLES / "cnn.nnproj", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    paths = [row["path"] for row in report["layers"]]
    assert paths[:3] == ["features", "features.0", "features.1"]
    first_conv = report["layers"][1]
    assert first_conv["type"] == "Conv2d" and first_conv["input_shape"] == [8, 3, 32, 32]
    assert first_conv["params"] == 3 * 6 * 5 * 5 + 6
    assert report["layers"][0]["params"] == sum(
        row["params"] for row in report["layers"] if row["path"].startswith("features.")
    )
    assert report["warnings"] == []


def test_input_shape_option_overrides_the_project(nnstudio):
    result = nnstudio("summary", EXAMPLES / "seed_sequential.nnproj", "--input-shape", "5,7,3", "--json")
    assert result.code == 0, result.err
    assert result.json()["layers"][-1]["output_shape"] == [5, 7, 2]


def test_shape_mismatch_names_the_layer_and_exits_2(nnstudio):
    result = nnstudio("summary", EXAMPLES / "cnn.nnproj", "--input-shape", "8,3,36,36")
    assert result.code == 2
    assert "classifier.1 (Linear): input (8, 576) but in_features=400" in result.err
    assert "Traceback" not in result.err
    assert "not computed" in result.out


def test_gru_example_takes_int64_tokens(nnstudio):
    result = nnstudio("summary", EXAMPLES / "gru.nnproj", "--json")
    assert result.code == 0, result.err
    gru_row = next(row for row in result.json()["layers"] if row["type"] == "GRU")
    assert len(gru_row["output_shape"]) == 2  # (output, h_n)


def test_seed_param_groups_summary_ends_with_the_seed_optimizer_as_torch_prints_it(nnstudio):
    from torch import nn, optim

    result = nnstudio("summary", EXAMPLES / "seed_param_groups.nnproj")
    assert result.code == 0, result.err
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2)))
    net.add_module("classifier", nn.Sequential(nn.Flatten(), nn.Linear(400, 10)))
    by_hand = optim.SGD(
        [{"params": net.features.parameters()}, {"params": net.classifier.parameters(), "lr": 0.01}], lr=0.00001
    )
    assert result.out.rstrip().endswith(repr(by_hand))


def test_memory_follows_the_projects_optimizer_and_freezing(nnstudio, tmp_path):
    data = json.loads((EXAMPLES / "cnn.nnproj").read_text())
    data["optimizer"] = {"type": "Adam", "defaults": {"lr": 0.001}}
    data["freeze"] = ["features"]
    project = tmp_path / "frozen.nnproj"
    project.write_text(json.dumps(data))
    report = nnstudio("summary", project, "--json").json()
    classifier = 48120 + 10164 + 850
    assert report["trainable_params"] == classifier
    memory = report["memory"]
    assert memory["parameters"] == 4 * 62006
    assert memory["gradients"] == 4 * classifier
    assert memory["optimizer_state"] == 2 * 4 * classifier  # Adam: exp_avg and exp_avg_sq
    assert memory["activations"] > 0 and memory["total"] == sum(v for k, v in memory.items() if k != "total")
    assert report["fit"]["device"] == "cpu" and report["total_flops"] == 10427520


def test_text_summary_shows_flops_memory_and_the_fit(nnstudio):
    result = nnstudio("summary", EXAMPLES / "seed_param_groups.nnproj")  # plain SGD: no optimizer state
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert any(line.startswith("Layer (type)") and line.endswith("FLOPs") for line in lines)
    assert any(line.startswith("features.0 (Conv2d)") and line.endswith("5.6 M") for line in lines)
    assert "Forward FLOPs: 10.4 M (10,427,520)" in lines
    assert "Training memory: 954 kB" in lines and "  Optimizer state: 0 B" in lines
    assert any(line.startswith("Batch 8 fits cpu (") and "largest batch that fits" in line for line in lines)


def test_cnn_summary_ends_with_its_adam_groups_as_torch_prints_them(nnstudio):
    from torch import nn, optim

    result = nnstudio("summary", EXAMPLES / "cnn.nnproj")
    assert result.code == 0, result.err
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(nn.Conv2d(3, 6, 5)))
    net.add_module("classifier", nn.Sequential(nn.Linear(400, 10)))
    by_hand = optim.Adam([{"params": net.features.parameters()}, {"params": net.classifier.parameters()}], lr=0.003)
    assert result.out.rstrip().endswith(repr(by_hand))
