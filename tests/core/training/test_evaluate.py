import pytest
import torch

from app.training.evaluate import accuracy


def test_accuracy_counts_the_argmax_hits_of_a_batch_that_is_still_in_the_graph():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]], requires_grad=True)
    found = accuracy(logits * 1.0, torch.tensor([0, 1, 0, 0]))
    assert found == pytest.approx(0.75) and type(found) is float  # a plain float for events and JSON


def test_accuracy_of_a_sequence_output_is_the_share_of_positions_right():
    # (batch, classes, positions) against (batch, positions), as CrossEntropyLoss takes them
    logits = torch.zeros(2, 3, 4)
    logits[:, 1, :] = 1.0  # class 1 everywhere
    target = torch.tensor([[1, 1, 0, 2], [1, 1, 1, 1]])
    assert accuracy(logits, target) == pytest.approx(6 / 8)


def test_accuracy_is_the_same_through_numpy_and_through_torch():
    generator = torch.Generator().manual_seed(1)
    logits, target = torch.randn(50, 7, generator=generator), torch.randint(0, 7, (50,), generator=generator)
    by_torch = (logits.argmax(dim=1) == target).float().mean().item()
    assert accuracy(logits, target) == pytest.approx(by_torch)
    assert accuracy(logits.half(), target) == pytest.approx(by_torch, abs=0.05)  # float16 takes torch's path


def test_there_is_no_accuracy_without_class_scores_or_class_targets():
    assert accuracy(torch.randn(5), torch.zeros(5, dtype=torch.int64)) is None
    assert accuracy(torch.randn(5, 2), torch.zeros(5)) is None
