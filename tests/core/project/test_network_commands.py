"""Undoable edits: each command's do / undo / redo and its refusals."""

from __future__ import annotations

import pytest

from app.network.spec import Node, container, layer, validate
from app.project.network_commands import (
    AddNode,
    DuplicateNode,
    MoveNode,
    RemoveNode,
    RenameNode,
    SetArgument,
    WrapInContainer,
)
from tests.core.edit_helpers import assert_refused, make_document, run_round_trip

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
    document = make_document(
        container("Sequential", container("Residual", layer("ReLU", name="projection"), layer("Tanh", name="body")))
    )
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
    residual = make_document(
        container("Sequential", container("Residual", layer("Tanh", name="body"), layer("ReLU", name="projection")))
    )
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
    document = make_document(
        container(
            "Sequential",
            container("Sequential", container("Sequential")),
            layer("ReLU", name="act"),
            container("Chain", container("ModuleList")),
            container("Sequential", layer("Tanh", name="act")),
        )
    )
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
        "children": [
            {"name": "fc1", "type": "Linear", "args": {"in_features": 3, "out_features": 4}},
            {"type": "ReLU"},
        ],
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
