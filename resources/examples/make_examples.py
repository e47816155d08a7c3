"""Writes the example projects in this folder, so they are canonical (as save_project writes them).

Run with the project's Python: ``python resources/examples/make_examples.py``. It imports the
``app`` of the checkout it lies in (not whichever one the environment has installed), so the files
are written in that checkout's format.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from app.network.inputs import InputSpec  # noqa: E402  (after the checkout is on the path)
from app.network.python_network import PythonNetwork  # noqa: E402
from app.network.spec import container, layer  # noqa: E402
from app.project.project_file import Project, parse_project, save_project  # noqa: E402

SEED_TRAINING = {
    "dataset": {"name": "csv", "path": "seed_data.csv", "target": "label"},
    "loss": {"type": "CrossEntropyLoss"},
    "epochs": 20,
    "batch_size": 16,
    "val_split": 0.2,
    "seed": 0,
}
SEED_OPTIMIZER = {"type": "SGD", "defaults": {"lr": 0.1, "momentum": 0.9}}


def write_seed_data(path: Path, rows: int = 240) -> None:
    """Three features, two classes: label 1 when x1 + x2 - x3 > 0 (the seed network's 3 -> 2)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3)).round(4)
    labels = (x[:, 0] + x[:, 1] - x[:, 2] > 0).astype(int)
    lines = ["x1,x2,x3,label"] + [f"{a},{b},{c},{label}" for (a, b, c), label in zip(x, labels)]
    path.write_text("\n".join(lines) + "\n")


def seed_sequential() -> Project:
    network = container(
        "Sequential",
        layer("Linear", in_features=3, out_features=4),
        layer("ReLU"),
        layer("Linear", in_features=4, out_features=2),
        layer("ReLU"),
    )
    return Project(
        network,
        [InputSpec([1, 3])],
        name="Sequential (seed note)",
        description="nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()): "
        "children are numbered (0), (1), ... in order.",
        optimizer=SEED_OPTIMIZER,
        training=SEED_TRAINING,
    )


def seed_add_module() -> Project:
    children = [
        layer("Linear", name="module_name1", in_features=3, out_features=4),
        layer("ReLU", name="module_name2"),
        layer("Linear", name="module_name3", in_features=4, out_features=2),
        layer("ReLU", name="module_name4"),
    ]
    return Project(
        container("Sequential", *children),
        [InputSpec([1, 3])],
        name="add_module (seed note)",
        description="The same network built with add_module('module_name1', ...): "
        "each child is registered under its own name.",
        optimizer=SEED_OPTIMIZER,
        training=SEED_TRAINING,
    )


def _cnn_network():
    features = container(
        "Sequential",
        layer("Conv2d", in_channels=3, out_channels=6, kernel_size=5),
        layer("ReLU"),
        layer("MaxPool2d", kernel_size=2),
        layer("Conv2d", in_channels=6, out_channels=16, kernel_size=5),
        layer("ReLU"),
        layer("MaxPool2d", kernel_size=2),
        name="features",
    )
    classifier = container(
        "Sequential",
        layer("Flatten"),
        layer("Linear", in_features=400, out_features=120),
        layer("ReLU"),
        layer("Linear", in_features=120, out_features=84),
        layer("ReLU"),
        layer("Linear", in_features=84, out_features=10),
        name="classifier",
    )
    return container("Sequential", features, classifier)


CNN_TRAINING = {
    "dataset": {"name": "shapes32", "size": 3000, "classes": 10},
    "loss": {"type": "CrossEntropyLoss"},
    "batch_size": 64,
    "val_split": 0.2,
    "seed": 0,
}
CNN_PROBES = {"modules": ["features.1", "features.4", "classifier.2", "classifier.4"], "every": 10}


def _cnn_project(**parts) -> Project:
    """The small CNN on 3x32x32 shapes, its probes on the ReLUs; ``parts`` are the rest."""
    return Project(_cnn_network(), [InputSpec([8, 3, 32, 32])], probes=CNN_PROBES, **parts)


def cnn() -> Project:
    return _cnn_project(
        name="Small CNN",
        description="A LeNet-style image classifier for 3x32x32 images (CIFAR-10 sized): "
        "convolutional features, then a fully connected classifier over 10 classes. Adam at "
        "lr=0.003, one parameter group per container; 4 epochs reach about 97% validation accuracy.",
        optimizer={
            "type": "Adam",
            "defaults": {"lr": 0.003},
            "groups": [{"select": "features"}, {"select": "classifier"}],
        },
        training={**CNN_TRAINING, "epochs": 4},
    )


def seed_param_groups() -> Project:
    return _cnn_project(
        name="Per-group learning rates (seed note)",
        description="The small CNN with the seed note's optimizer: optim.SGD([{'params': "
        "features.parameters()}, {'params': classifier.parameters(), 'lr': 1e-2}], lr=1e-5). The "
        "features barely move at lr=1e-5, so only the classifier learns, on nearly fixed random "
        "features (Kaiming init lets plain SGD start): about 40% validation accuracy where the cnn "
        "example, which trains both groups with Adam, reaches 97%. Compare their per-group "
        "gradient norms and learning rates.",
        init={
            "seed": 0,
            "rules": [
                {
                    "select": {"types": ["Conv2d", "Linear"], "paths": ["*.weight"]},
                    "scheme": "kaiming_normal",
                    "args": {"nonlinearity": "relu"},
                },
            ],
        },
        optimizer={
            "type": "SGD",
            "defaults": {"lr": 1e-05},
            "groups": [{"select": "features"}, {"select": "classifier", "lr": 0.01}],
        },
        training={**CNN_TRAINING, "batch_size": 16, "epochs": 3},
    )


def gru() -> Project:
    network = container(
        "Sequential",
        layer("Embedding", num_embeddings=1000, embedding_dim=32),
        layer("GRU", input_size=32, hidden_size=64, batch_first=True),
        layer("TakeOutput", index=1),
        layer("Permute", dims=[1, 0, 2]),
        layer("Reshape", shape=[64]),
        layer("Linear", in_features=64, out_features=2),
    )
    return Project(
        network,
        [InputSpec([8, 20], "int64")],
        name="GRU text classifier",
        description="Token ids [batch, 20] -> Embedding -> GRU; TakeOutput(index=1) keeps h_n "
        "[1, batch, 64], Permute and Reshape make it [batch, 64], Linear gives 2 classes "
        "(does marker token 1 appear in the sequence?).",
        optimizer={"type": "Adam", "defaults": {"lr": 0.003}},
        training={
            "dataset": {"name": "tokens", "size": 2000, "length": 20, "vocab": 1000},
            "loss": {"type": "CrossEntropyLoss"},
            "epochs": 3,
            "batch_size": 32,
            "val_split": 0.2,
            "seed": 0,
        },
    )


def _conv_bn(in_channels: int, out_channels: int, stride: int = 1) -> list:
    conv = layer(
        "Conv2d",
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=3,
        stride=stride,
        padding=1,
        bias=False,
    )
    return [conv, layer("BatchNorm2d", num_features=out_channels)]


def _residual(in_channels: int, out_channels: int, stride: int) -> list:
    body = container(
        "Sequential",
        *_conv_bn(in_channels, out_channels, stride),
        layer("ReLU"),
        *_conv_bn(out_channels, out_channels),
        name="body",
    )
    parts = [body]
    if stride != 1 or in_channels != out_channels:
        parts.append(
            layer(
                "Conv2d",
                name="projection",
                in_channels=in_channels,
                out_channels=out_channels,
                kernel_size=1,
                stride=stride,
                bias=False,
            )
        )
    return [container("Residual", *parts), layer("ReLU")]


def resnet_block() -> Project:
    network = container(
        "Sequential",
        layer("Conv2d", in_channels=3, out_channels=16, kernel_size=3, padding=1, bias=False),
        layer("BatchNorm2d", num_features=16),
        layer("ReLU"),
        *_residual(16, 16, 1),
        *_residual(16, 32, 2),
        layer("AdaptiveAvgPool2d", output_size=1),
        layer("Flatten"),
        layer("Linear", in_features=32, out_features=10),
    )
    return Project(
        network,
        [InputSpec([8, 3, 32, 32])],
        name="Residual blocks",
        description="A stem (Conv-BN-ReLU), two residual blocks x + body(x) (the second halves "
        "the size with stride 2 and projects the skip with a 1x1 Conv), then global average "
        "pooling and a linear classifier over 10 classes. Kaiming init on the convolutions; no "
        "weight decay on biases and BatchNorm; cosine learning-rate schedule.",
        init={
            "seed": 0,
            "rules": [
                {
                    "select": {"types": ["Conv2d"], "paths": ["*.weight"]},
                    "scheme": "kaiming_normal",
                    "args": {"mode": "fan_out", "nonlinearity": "relu"},
                },
            ],
        },
        optimizer={
            "type": "SGD",
            "defaults": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005},
            "groups": [
                {"select": "*.bias", "weight_decay": 0.0},
                {"select": {"types": ["normalization"]}, "weight_decay": 0.0},
            ],
        },
        scheduler={"type": "CosineAnnealingLR"},
        training={
            "dataset": {"name": "shapes32", "size": 1000, "classes": 10},
            "loss": {"type": "CrossEntropyLoss"},
            "epochs": 3,
            "batch_size": 32,
            "val_split": 0.2,
            "seed": 0,
        },
    )


def spirals() -> Project:
    network = container(
        "Sequential",
        layer("Linear", in_features=2, out_features=64),
        layer("ReLU"),
        layer("Linear", in_features=64, out_features=64),
        layer("ReLU"),
        layer("Linear", in_features=64, out_features=3),
    )
    return Project(
        network,
        [InputSpec([32, 2])],
        name="Spirals MLP",
        description="A small MLP that learns to separate three interleaved 2-D spirals.",
        optimizer={"type": "Adam", "defaults": {"lr": 0.01}},
        training={
            "dataset": {"name": "spirals", "size": 1500, "classes": 3, "noise": 0.2},
            "loss": {"type": "CrossEntropyLoss"},
            "epochs": 30,
            "batch_size": 32,
            "val_split": 0.2,
            "seed": 0,
        },
        probes={"modules": ["1", "3"], "every": 10},
    )


def custom_module() -> Project:
    network = PythonNetwork("custom_module.py:SmallCNN", {"classes": 10, "width": 12})
    return Project(
        network,
        [InputSpec([8, 3, 32, 32])],
        name="Your own nn.Module (tutorial)",
        description="A network written in Python (custom_module.py): ScaledChannels holds its own "
        "nn.Parameters (scale, shift) and a buffer (running_mean); SmallCNN uses it twice and adds a "
        "residual by hand in forward. Two parameter groups: the classifier learns faster.",
        optimizer={"type": "Adam", "defaults": {"lr": 0.01}, "groups": [{"select": "classifier", "lr": 0.02}]},
        training={
            "dataset": {"name": "shapes32", "size": 1000, "classes": 10},
            "loss": {"type": "CrossEntropyLoss"},
            "epochs": 4,
            "batch_size": 32,
            "val_split": 0.2,
            "seed": 0,
        },
        probes={"modules": ["stem.1", "block.1", "classifier"], "every": 10},
    )


def torchvision_resnet18() -> Project:
    network = PythonNetwork("torchvision.models:resnet18", {"num_classes": 10})
    return Project(
        network,
        [InputSpec([4, 3, 32, 32])],
        name="torchvision ResNet-18",
        description="torchvision.models.resnet18(num_classes=10), named by its package: needs the "
        "vision extra (pip install 'nnstudio[vision]'). The head trains faster than the backbone.",
        optimizer={"type": "SGD", "defaults": {"lr": 0.01, "momentum": 0.9}, "groups": [{"select": "fc", "lr": 0.05}]},
        training={
            "dataset": {"name": "shapes32", "size": 320, "classes": 10},
            "loss": {"type": "CrossEntropyLoss"},
            "epochs": 1,
            "batch_size": 32,
            "val_split": 0.2,
            "seed": 0,
        },
        probes={"modules": ["layer1", "layer4", "fc"], "every": 5},
    )


EXAMPLES = {
    "seed_sequential": seed_sequential,
    "seed_add_module": seed_add_module,
    "cnn": cnn,
    "seed_param_groups": seed_param_groups,
    "gru": gru,
    "resnet_block": resnet_block,
    "spirals": spirals,
    "custom_module": custom_module,
    "torchvision_resnet18": torchvision_resnet18,
}


def main() -> None:
    write_seed_data(HERE / "seed_data.csv")
    for stem, make in EXAMPLES.items():
        project = make()
        project = parse_project(project.to_json())  # canonical args, fully validated
        project.path = HERE / f"{stem}.nnproj"  # a Python network's file is relative to this folder
        save_project(project, HERE / f"{stem}.nnproj")
        print(HERE / f"{stem}.nnproj")


if __name__ == "__main__":
    main()
