"""Shared helpers for the tests of undoable edits."""

from __future__ import annotations

import types

import pytest

from app.errors import EditError
from app.network.spec import Node, container, layer
from app.project.document import Document


def seed() -> Node:
    return container(
        "Sequential",
        layer("Linear", in_features=3, out_features=4),
        layer("ReLU"),
        layer("Linear", in_features=4, out_features=2),
        layer("ReLU"),
    )


def make_document(network: Node | None = None, **kwargs) -> Document:
    return Document(types.SimpleNamespace(network=network or seed()), **kwargs)


def snapshot(document: Document):
    return document.network.clone(), document.network.to_json()


def assert_state(document: Document, state) -> None:
    network, data = state
    assert document.network == network
    assert document.network.to_json() == data


def run_round_trip(document: Document, command) -> tuple:
    """Do the command; undo must give the start back exactly, redo the edited state."""
    before = snapshot(document)
    assert document.execute(command) is True
    after = snapshot(document)
    assert after[1] != before[1]
    document.undo()
    assert_state(document, before)
    document.redo()
    assert_state(document, after)
    return before, after


def assert_refused(document: Document, command, *words: str) -> EditError:
    before = snapshot(document)
    depth, index = len(document.undo_stack), document.undo_stack.index
    dirty = document.is_dirty
    with pytest.raises(EditError) as caught:
        document.execute(command)
    assert_state(document, before)
    assert (len(document.undo_stack), document.undo_stack.index) == (depth, index)
    assert document.is_dirty == dirty
    for word in words:
        assert word in str(caught.value), str(caught.value)
    return caught.value
