"""Every example learns visibly in its own default run: the first thing a newcomer tries works.

Each example is trained headless exactly as ``nnstudio train`` would (its own epochs, optimizer,
init and data), and its last validation accuracy must beat chance by a clear margin. Chance is
the share of the most common class in the validation data (never below 1 / classes), so an
imbalanced dataset cannot pass by always answering the same class. The examples' runs are sized
to take seconds, so this stays a quick test.
"""

import pytest
import torch

from app.training.engine import Engine
from app.training.events import Epoch, Finished
from app.training.prepare import prepare
from tests.core.project_helpers import EXAMPLE_FILES, allowed_example

CLEAR_MARGIN = 0.2  # accuracy points above chance


def chance(labels: torch.Tensor, classes: int) -> float:
    counts = torch.bincount(labels.flatten(), minlength=classes)
    return max(float(counts.max()) / labels.numel(), 1.0 / classes)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_the_example_beats_chance_by_a_clear_margin_in_its_default_run(path):
    project = allowed_example(path)
    setup = prepare(project)
    events = list(Engine(setup).run())
    assert isinstance(events[-1], Finished), events[-1]
    last = [e for e in events if isinstance(e, Epoch)][-1]
    assert last.epoch == project.training["epochs"]
    outputs = setup.core(setup.data.x_val[:2]).shape[-1]
    baseline = chance(setup.data.y_val, outputs)
    assert last.val_accuracy >= baseline + CLEAR_MARGIN, (path.stem, last.val_accuracy, baseline)
