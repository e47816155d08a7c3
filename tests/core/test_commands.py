"""Undoable edits: each command's do / undo / redo, refusals, the saved marker and events."""

from __future__ import annotations

import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.build import build
from app.commands import (
    AddNode, DuplicateNode, MoveNode, RemoveNode, RenameNode, SetArgument, WrapInContainer,
)
from app.document import Changed, Document
from app.errors import EditError, NNStudioError
from app.spec import Node, container, layer, validate


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


# --- each command ---------------------------------------------------------------------


def test_add_inserts_a_copy_at_the_index_and_undo_takes_it_out():
    document = make_document()
    added = layer("Dropout", p=0.25)
    run_round_trip(document, AddNode((), 2, added))
    assert [c.type for c in document.network.children] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU"]
    assert document.network.children[2] is not added  # later changes to the caller's node stay out
    added.args["p"] = 0.9
    assert document.network.children[2].args == {"p": 0.25}


def test_add_appends_with_index_none_and_canonicalises_arguments():
    document = make_document()
    document.execute(AddNode((), None, layer("Conv2d", in_channels=1, out_channels=2, kernel_size=[3, 3], bias=True)))
    assert document.network.children[-1].args == {"in_channels": 1, "out_channels": 2, "kernel_size": 3}


def test_add_into_a_free_slot_goes_in_slot_order():
    document = make_document(container("Sequential", container("Residual", layer("ReLU", name="projection"), layer("Tanh", name="body"))))
    validate(document.network)
    assert [c.name for c in document.network.children[0].children] == ["body", "projection"]
    document = make_document(container("Sequential", container("Residual", layer("Tanh", name="body"))))
    run_round_trip(document, AddNode((0,), 0, layer("Linear", name="projection", in_features=2, out_features=2)))
    assert [c.name for c in document.network.children[0].children] == ["body", "projection"]
    assert_refused(document, AddNode((0,), 0, layer("ReLU", name="body")), "already filled")
    assert_refused(document, AddNode((0,), 0, layer("ReLU", name="skip")), "named after its slot", "body, projection")
    assert_refused(document, AddNode((0,), 0, layer("ReLU")), "named after its slot")


@pytest.mark.parametrize(
    ("parent", "node", "words"),
    [
        ((0,), layer("ReLU"), ["Linear is a layer and cannot hold children", "network.children[0]"]),
        ((), layer("ReLU", name="0bad"), ["not a valid Python identifier"]),
        ((), layer("ReLU", name="forward"), ["already an attribute"]),
        ((), container("ModuleList"), ["ModuleList", "Chain"]),
        ((), layer("Linear", in_features=3), ["needs argument 'out_features'"]),
        ((), layer("Linear", in_features=3, out_features=0), ["positive integer"]),
        ((), layer("Linear", in_features=3, out_features=2, colour="red"), ["no argument 'colour'"]),
        ((), Node("NotALayer"), ["unknown layer type"]),
        ((), container("Linear", layer("ReLU"), in_features=1, out_features=1), ["cannot hold children"]),
        ((7,), layer("ReLU"), ["no node at"]),
    ],
)
def test_add_refuses_structural_nonsense_and_changes_nothing(parent, node, words):
    assert_refused(make_document(), AddNode(parent, 0, node), *words)


def test_add_refuses_a_bad_index_and_a_named_child_in_a_module_list():
    document = make_document(container("Chain", container("ModuleList", layer("ReLU"))))
    assert_refused(document, AddNode((), 5, layer("ReLU")), "outside 0..1")
    assert_refused(document, AddNode((0,), 0, layer("ReLU", name="act")), "positional")
    run_round_trip(document, AddNode((0,), 1, layer("Tanh")))


def test_add_refuses_a_name_a_sibling_already_has():
    document = make_document()
    document.execute(RenameNode((0,), "fc1"))
    assert_refused(document, AddNode((), 0, layer("ReLU", name="fc1")), "'fc1' is already used")


def test_remove_and_its_refusals():
    document = make_document()
    run_round_trip(document, RemoveNode((1,)))
    assert [c.type for c in document.network.children] == ["Linear", "Linear", "ReLU"]
    assert_refused(document, RemoveNode(()), "root")
    assert_refused(document, RemoveNode((9,)), "no node at")
    residual = make_document(container("Sequential", container("Residual", layer("Tanh", name="body"), layer("ReLU", name="projection"))))
    assert_refused(residual, RemoveNode((0, 0)), "needs its 'body'")
    run_round_trip(residual, RemoveNode((0, 1)))


def test_move_reorders_within_a_container():
    document = make_document()
    run_round_trip(document, MoveNode((0,), (), 3))
    assert [c.args.get("in_features") for c in document.network.children] == [None, 4, None, 3]


def test_move_into_a_later_sibling_container_and_back_out():
    document = make_document(container("Sequential", layer("ReLU"), layer("Tanh"), container("Sequential")))
    # the new parent's address is read before the move: (2,) becomes (1,) once (0,) leaves
    run_round_trip(document, MoveNode((0,), (2,), 0))
    assert document.network.to_json() == {
        "type": "Sequential",
        "children": [{"type": "Tanh"}, {"type": "Sequential", "children": [{"type": "ReLU"}]}],
    }
    run_round_trip(document, MoveNode((1, 0), (), 0))
    assert [c.type for c in document.network.children] == ["ReLU", "Tanh", "Sequential"]


def test_move_refusals():
    document = make_document(container("Sequential", container("Sequential", container("Sequential")), layer("ReLU", name="act"),
                                       container("Chain", container("ModuleList")), container("Sequential", layer("Tanh", name="act"))))
    assert_refused(document, MoveNode((0,), (0,), 0), "into itself")
    assert_refused(document, MoveNode((0,), (0, 0), 0), "into itself")
    assert_refused(document, MoveNode((0,), (1,), 0), "ReLU is a layer and cannot hold children")
    assert_refused(document, MoveNode((1,), (2, 0), 0), "positional")
    assert_refused(document, MoveNode((1,), (3,), 0), "'act' is already used")
    assert_refused(document, MoveNode((2, 0), (), 0), "ModuleList", "Chain")
    assert_refused(document, MoveNode((), (0,), 0), "root")
    assert_refused(document, MoveNode((0,), (), 9), "outside 0..3")


def test_move_to_where_it_already_is_records_nothing():
    document = make_document()
    assert document.execute(MoveNode((1,), (), 1)) is False
    assert not document.undo_stack.can_undo and not document.is_dirty


def test_rename_named_positional_and_back():
    document = make_document()
    run_round_trip(document, RenameNode((0,), "fc1"))
    assert document.network.child_names() == ["fc1", "1", "2", "3"]
    assert document.undo_stack.undo_text == "Undo rename Linear (0) to 'fc1'"
    run_round_trip(document, RenameNode((0,), "head"))
    assert document.undo_stack.undo_text == "Undo rename 'fc1' to 'head'"
    run_round_trip(document, RenameNode((0,), None))
    assert document.network.child_names() == ["0", "1", "2", "3"]
    assert document.undo_stack.undo_text == "Undo make 'head' positional"


def test_rename_refusals_give_the_reason():
    document = make_document()
    document.execute(RenameNode((0,), "fc1"))
    assert_refused(document, RenameNode((1,), "fc1"), "'fc1' is already used")
    assert_refused(document, RenameNode((1,), "2x"), "not a valid Python identifier")
    assert_refused(document, RenameNode((1,), "class"), "not a valid Python identifier")
    assert_refused(document, RenameNode((1,), ""), "empty")
    assert_refused(document, RenameNode((), "net"), "root")
    residual = make_document(container("Sequential", container("Residual", layer("Tanh", name="body"))))
    assert_refused(residual, RenameNode((0, 0), "trunk"), "slot of Residual")
    chain = make_document(container("Chain", container("ModuleList", layer("ReLU"))))
    assert_refused(chain, RenameNode((0, 0), "act"), "positional")
    assert document.execute(RenameNode((0,), "fc1")) is False  # the same name: nothing recorded


def test_set_argument_sets_resets_and_checks_the_type():
    document = make_document()
    run_round_trip(document, SetArgument((0,), "out_features", 8))
    assert document.network.children[0].args == {"in_features": 3, "out_features": 8}
    run_round_trip(document, SetArgument((0,), "bias", False))
    assert document.network.children[0].args["bias"] is False
    run_round_trip(document, SetArgument((0,), "bias", True))  # the default: removed from the spec
    assert "bias" not in document.network.children[0].args
    document.execute(SetArgument((0,), "bias", False))
    run_round_trip(document, SetArgument((0,), "bias", None))
    assert "bias" not in document.network.children[0].args
    error = assert_refused(document, SetArgument((0,), "out_features", "eight"), "must be an integer", "'eight'")
    assert error.where == "network.children[0].args.out_features"
    assert_refused(document, SetArgument((0,), "colour", 1), "Linear has no argument 'colour'", "in_features")
    assert_refused(document, SetArgument((0,), "in_features", None), "needs argument 'in_features'")
    assert_refused(document, SetArgument((1,), "inplace", 1), "true or false")
    assert document.execute(SetArgument((0,), "out_features", 8)) is False


def test_set_argument_canonicalises_like_the_spec():
    document = make_document(container("Sequential", layer("Conv2d", in_channels=1, out_channels=2, kernel_size=3)))
    document.execute(SetArgument((0,), "kernel_size", (5, 5)))
    assert document.network.children[0].args["kernel_size"] == 5
    document.execute(SetArgument((0,), "kernel_size", [3, 5]))
    assert document.network.children[0].args["kernel_size"] == [3, 5]


def test_wrap_and_unwrap():
    document = make_document()
    document.execute(RenameNode((0,), "fc1"))
    run_round_trip(document, WrapInContainer([(1,), (0,)], "Sequential", name="block"))
    assert document.network.to_json()["children"][0] == {
        "name": "block",
        "type": "Sequential",
        "children": [{"name": "fc1", "type": "Linear", "args": {"in_features": 3, "out_features": 4}}, {"type": "ReLU"}],
    }
    assert document.network.child_names() == ["block", "1", "2"]
    assert_refused(document, WrapInContainer([(1,), (2,)], "Sequential", name="block"), "'block' is already used")
    assert_refused(document, WrapInContainer([(0,), (2,)]), "next to each other")
    assert_refused(document, WrapInContainer([(0, 0), (1,)]), "same container")
    assert_refused(document, WrapInContainer([(1,)], "Linear"), "can only wrap in")
    assert_refused(document, WrapInContainer([(1,)], "ModuleList"), "Chain")
    assert_refused(document, WrapInContainer([]), "at least one")


def test_wrap_a_module_list_only_in_a_chain_and_named_children_not_in_a_module_list():
    document = make_document(container("Chain", layer("ReLU", name="act"), layer("Tanh")))
    run_round_trip(document, WrapInContainer([(1,)], "ModuleList"))
    assert_refused(document, WrapInContainer([(0,)], "ModuleList"), "positional", "'act'")


def test_wrap_a_slot_child_keeps_the_slot():
    document = make_document(container("Sequential", container("Residual", layer("Tanh", name="body"))))
    run_round_trip(document, WrapInContainer([(0, 0)], "Sequential"))
    assert document.network.children[0].to_json() == {
        "type": "Residual",
        "children": [{"name": "body", "type": "Sequential", "children": [{"type": "Tanh"}]}],
    }


def test_duplicate_copies_right_after_with_a_fresh_name():
    document = make_document()
    document.execute(RenameNode((0,), "fc1"))
    run_round_trip(document, DuplicateNode((0,)))
    assert document.network.child_names() == ["fc1", "fc1_2", "2", "3", "4"]
    assert document.network.children[1].args == document.network.children[0].args
    run_round_trip(document, DuplicateNode((2,)))
    assert [c.type for c in document.network.children] == ["Linear", "Linear", "ReLU", "ReLU", "Linear", "ReLU"]


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
ARGUMENTS = [("in_features", 7), ("out_features", 2), ("bias", False), ("bias", None), ("p", 0.1),
             ("inplace", True), ("in_features", "x"), ("nope", 1), ("in_features", None)]
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
