"""Writes the example projects in this folder, so they are canonical (as save_project writes them).

Run with the project's Python: ``python resources/examples/make_examples.py``.
"""

from __future__ import annotations

from pathlib import Path

from app.inputs import InputSpec
from app.project import Project, parse_project, save_project
from app.spec import container, layer

HERE = Path(__file__).resolve().parent


def seed_sequential() -> Project:
    network = container(
        "Sequential",
        layer("Linear", in_features=3, out_features=4),
        layer("ReLU"),
        layer("Linear", in_features=4, out_features=2),
        layer("ReLU"),
    )
    return Project(
        network, [InputSpec([1, 3])], name="Sequential (seed note)",
        description="nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()): "
        "children are numbered (0), (1), ... in order.",
    )


def seed_add_module() -> Project:
    children = [
        layer("Linear", name="module_name1", in_features=3, out_features=4),
        layer("ReLU", name="module_name2"),
        layer("Linear", name="module_name3", in_features=4, out_features=2),
        layer("ReLU", name="module_name4"),
    ]
    return Project(
        container("Sequential", *children), [InputSpec([1, 3])], name="add_module (seed note)",
        description="The same network built with add_module('module_name1', ...): "
        "each child is registered under its own name.",
    )


def cnn() -> Project:
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
    return Project(
        container("Sequential", features, classifier), [InputSpec([8, 3, 32, 32])],
        name="Small CNN",
        description="A LeNet-style image classifier for 3x32x32 images (CIFAR-10 sized): "
        "convolutional features, then a fully connected classifier over 10 classes.",
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
        network, [InputSpec([8, 20], "int64")], name="GRU text classifier",
        description="Token ids [batch, 20] -> Embedding -> GRU; TakeOutput(index=1) keeps h_n "
        "[1, batch, 64], Permute and Reshape make it [batch, 64], Linear gives 2 classes.",
    )


def _conv_bn(in_channels: int, out_channels: int, stride: int = 1) -> list:
    conv = layer("Conv2d", in_channels=in_channels, out_channels=out_channels, kernel_size=3,
                 stride=stride, padding=1, bias=False)
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
        parts.append(layer("Conv2d", name="projection", in_channels=in_channels,
                           out_channels=out_channels, kernel_size=1, stride=stride, bias=False))
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
        network, [InputSpec([8, 3, 32, 32])], name="Residual blocks",
        description="A stem (Conv-BN-ReLU), two residual blocks x + body(x) (the second halves "
        "the size with stride 2 and projects the skip with a 1x1 Conv), then global average "
        "pooling and a linear classifier over 10 classes.",
    )


EXAMPLES = {
    "seed_sequential": seed_sequential,
    "seed_add_module": seed_add_module,
    "cnn": cnn,
    "gru": gru,
    "resnet_block": resnet_block,
}


def main() -> None:
    for stem, make in EXAMPLES.items():
        project = make()
        project = parse_project(project.to_json())  # canonical args, fully validated
        save_project(project, HERE / f"{stem}.nnproj")
        print(HERE / f"{stem}.nnproj")


if __name__ == "__main__":
    main()
