"""The project's training section: dataset, loss, epochs, batch size, validation split, seed.

``{"dataset": {"name": "spirals", "classes": 3}, "loss": {"type": "CrossEntropyLoss"}, "epochs": 30,
"batch_size": 32, "val_split": 0.2, "shuffle": true, "seed": 0}``
"""

from __future__ import annotations

from dataclasses import dataclass

from app.data.loading import parse_dataset
from app.errors import NNStudioError
from app.jsoncheck import object_with
from app.network.catalog import layer_type
from app.network.spec import Node

TRAINING_KEYS = ("dataset", "loss", "epochs", "batch_size", "val_split", "shuffle", "seed")


@dataclass
class TrainingConfig:
    dataset: dict
    loss: Node
    epochs: int = 10
    batch_size: int = 32
    val_split: float = 0.2
    shuffle: bool = True
    seed: int = 0

    def to_json(self) -> dict:
        return {
            "dataset": dict(self.dataset),
            "loss": self.loss.to_json(),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "val_split": self.val_split,
            "shuffle": self.shuffle,
            "seed": self.seed,
        }


def parse_training(data: object, where: str = "training") -> TrainingConfig:
    data = object_with(data, where, TRAINING_KEYS, required=("dataset", "loss"))
    loss = Node.from_json(data["loss"], f"{where}.loss")
    entry = layer_type(loss.type)
    assert entry is not None  # from_json checked the type is in the catalog
    if entry.family != "loss":
        raise NNStudioError(
            f"{loss.type} is not a loss (pick one from the catalog's loss family)", f"{where}.loss.type"
        )
    config = TrainingConfig(parse_dataset(data["dataset"], f"{where}.dataset"), loss)
    config.epochs = bounded_int(data.get("epochs", config.epochs), f"{where}.epochs", 1, 100_000)
    config.batch_size = bounded_int(data.get("batch_size", config.batch_size), f"{where}.batch_size", 1, 1_000_000)
    config.seed = bounded_int(data.get("seed", config.seed), f"{where}.seed", 0, 2**63 - 1)
    config.val_split = _fraction(data.get("val_split", config.val_split), f"{where}.val_split")
    config.shuffle = data.get("shuffle", True)
    if not isinstance(config.shuffle, bool):
        raise NNStudioError(f"must be true or false, got {config.shuffle!r}", f"{where}.shuffle")
    return config


def bounded_int(value: object, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise NNStudioError(f"must be an integer from {low} to {high}, got {value!r}", where)
    return value


def _fraction(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= 0.9):
        raise NNStudioError(f"must be a number from 0 to 0.9, got {value!r}", where)
    return float(value)
