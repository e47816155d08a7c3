"""Undoable edits: the stack, the saved marker, events, and random edit sequences."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import EditError, NNStudioError
from app.network.build import build
from app.network.spec import Node, container, layer, validate
from app.project.document import Changed, Document
from app.project.network_commands import (
    AddNode,
    DuplicateNode,
    MoveNode,
    RemoveNode,
    RenameNode,
    SetArgument,
    WrapInContainer,
)
from tests.core.edit_helpers import assert_state, make_document, snapshot

# --- the stack, the saved marker and events ---------------------------------------------


def test_undo_and_redo_texts_and_availability():
    document = make_document()
    stack = document.undo_stack
    assert (stack.can_undo, stack.can_redo, stack.undo_text, stack.redo_text) == (False, False, "Undo", "Redo")
    document.execute(SetArgument((2,), "out_features", 5))
    assert stack.undo_text == "Undo set out_features of Linear (2) to 5"
    document.undo()
    assert stack.redo_text == "Redo set out_features of Linear (2) to 5"
    with pytest.raises(EditError, match="nothing to undo"):
        document.undo()
    document.execute(RemoveNode((3,)))
    assert not stack.can_redo  # a new edit forgets what could be redone
    with pytest.raises(EditError, match="nothing to redo"):
        document.redo()


def test_the_limit_drops_the_oldest_steps():
    document = make_document(undo_limit=3)
    for size in (5, 6, 7, 8, 9):
        document.execute(SetArgument((0,), "out_features", size))
    assert len(document.undo_stack) == 3
    while document.undo_stack.can_undo:
        document.undo()
    assert document.network.children[0].args["out_features"] == 6
    assert document.is_dirty  # the saved state fell off the history


def test_clear_forgets_the_history_but_keeps_the_network():
    document = make_document()
    document.execute(RemoveNode((3,)))
    document.undo_stack.clear()
    assert not document.undo_stack.can_undo and len(document.network.children) == 3
    assert document.is_dirty


def test_dirty_through_the_save_point():
    document = make_document()
    assert not document.is_dirty
    document.execute(RenameNode((0,), "fc1"))
    assert document.is_dirty
    document.mark_saved()
    assert not document.is_dirty
    document.execute(RenameNode((0,), "head"))
    assert document.is_dirty
    document.undo()
    assert not document.is_dirty
    document.undo()
    assert document.is_dirty
    document.redo()
    assert not document.is_dirty
    document.undo()
    document.execute(RemoveNode((1,)))  # the saved state can no longer be reached
    while document.undo_stack.can_undo:
        document.undo()
        assert document.is_dirty


def test_refused_edits_do_not_make_the_document_dirty_or_notify():
    document = make_document()
    events = []
    document.subscribe(events.append)
    with pytest.raises(EditError):
        document.execute(AddNode((0,), 0, layer("ReLU")))
    assert events == [] and not document.is_dirty


def test_listeners_hear_every_do_undo_redo_with_the_address():
    document = make_document(container("Sequential", container("Sequential", layer("ReLU"))))
    events: list[Changed] = []
    unsubscribe = document.subscribe(events.append)
    document.execute(AddNode((0,), 1, layer("Tanh")))
    document.undo()
    document.redo()
    document.execute(SetArgument((0, 0), "inplace", True))
    document.mark_saved()
    assert [(e.action, e.kind, e.address) for e in events] == [
        ("do", "add", (0,)),
        ("undo", "add", (0,)),
        ("redo", "add", (0,)),
        ("do", "set_argument", (0, 0)),
        ("save", "", ()),
    ]
    assert events[0].text == "add Tanh (1)"
    unsubscribe()
    document.undo()
    assert len(events) == 5


def test_errors_are_of_the_project_family():
    with pytest.raises(NNStudioError):
        make_document().execute(RemoveNode(()))


# --- the print(model) a user sees ----------------------------------------------------------


def test_building_the_add_module_variant_through_commands(capsys):
    document = make_document(Node("Sequential"))
    document.execute(AddNode((), 0, layer("Linear", in_features=3, out_features=4)))
    document.execute(AddNode((), 1, layer("ReLU", name="module_name2")))
    document.execute(AddNode((), 2, layer("Linear", name="module_name3", in_features=4, out_features=9)))
    document.execute(SetArgument((2,), "out_features", 2))
    document.execute(AddNode((), None, layer("ReLU", name="module_name4")))
    document.execute(RenameNode((0,), "module_name1"))
    print(build(document.network))
    assert capsys.readouterr().out == (
        "Sequential(\n"
        "  (module_name1): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (module_name2): ReLU()\n"
        "  (module_name3): Linear(in_features=4, out_features=2, bias=True)\n"
        "  (module_name4): ReLU()\n"
        ")\n"
    )


# --- random edits: undo all gives the start, redo all the end -------------------------------

NEW_NODES = [
    layer("ReLU"),
    layer("Tanh", name="act"),
    layer("Linear", in_features=4, out_features=4),
    layer("Linear", name="fc", in_features=2),  # refused: out_features is missing
    container("Sequential"),
    container("Chain", container("ModuleList", layer("ReLU"))),
    container("ModuleList"),  # refused outside a Chain
    container("Residual", layer("Identity", name="body")),
    layer("Identity", name="projection"),
    layer("Dropout", p=0.5),
]
NAMES = [None, "fc1", "head", "act", "2bad", "forward", "body"]
ARGUMENTS = [
    ("in_features", 7),
    ("out_features", 2),
    ("bias", False),
    ("bias", None),
    ("p", 0.1),
    ("inplace", True),
    ("in_features", "x"),
    ("nope", 1),
    ("in_features", None),
]
CONTAINERS = ["Sequential", "Chain", "ModuleList", "Parallel", "Linear"]


def random_command(data, document: Document):
    addresses = document.addresses()
    pick = lambda: data.draw(st.sampled_from(addresses))  # noqa: E731
    kind = data.draw(st.sampled_from(["add", "remove", "move", "rename", "set", "wrap", "duplicate"]))
    index = data.draw(st.integers(-1, 5))
    if kind == "add":
        return AddNode(pick(), index, data.draw(st.sampled_from(NEW_NODES)))
    if kind == "remove":
        return RemoveNode(pick())
    if kind == "move":
        return MoveNode(pick(), pick(), index)
    if kind == "rename":
        return RenameNode(pick(), data.draw(st.sampled_from(NAMES)))
    if kind == "set":
        name, value = data.draw(st.sampled_from(ARGUMENTS))
        return SetArgument(pick(), name, value)
    if kind == "wrap":
        first = pick()
        count = data.draw(st.integers(1, 3))
        siblings = [(*first[:-1], first[-1] + i) for i in range(count)] if first else [first]
        return WrapInContainer(siblings, data.draw(st.sampled_from(CONTAINERS)), data.draw(st.sampled_from(NAMES)))
    return DuplicateNode(pick())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edits_undo_to_the_start_and_redo_to_the_end(data):
    document = make_document()
    states = [snapshot(document)]
    for _ in range(data.draw(st.integers(1, 12))):
        before = snapshot(document)
        count = len(document.undo_stack)
        try:
            command = random_command(data, document)
            changed = document.execute(command)
        except EditError:
            assert_state(document, before)  # a refused edit leaves everything as it was
            assert len(document.undo_stack) == count
            continue
        if changed:
            validate(document.network.clone())
            states.append(snapshot(document))
        else:
            assert_state(document, before)
    for state in reversed(states[:-1]):
        document.undo()
        assert_state(document, state)
    assert not document.undo_stack.can_undo and not document.is_dirty
    for state in states[1:]:
        document.redo()
        assert_state(document, state)
    assert not document.undo_stack.can_redo
