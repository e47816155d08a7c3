import pytest

from app.errors import EditError
from app.project.document import Document
from app.project.network_commands import RenameNode
from app.project.project_file import load_project
from app.project.section_commands import SetSection
from tests.cli.conftest import EXAMPLES


def document():
    return Document(load_project(EXAMPLES / "cnn.nnproj"))


def test_a_section_edit_is_validated_canonicalised_and_undoable():
    doc = document()
    before = doc.project.optimizer
    doc.execute(SetSection("optimizer", {"type": "Adam", "defaults": {"lr": 0.001}}))
    assert doc.project.optimizer == {"type": "Adam", "defaults": {"lr": 0.001}, "groups": []}
    assert doc.is_dirty and doc.undo_stack.undo_text == "Undo edit optimizer"
    doc.undo()
    assert doc.project.optimizer == before and not doc.is_dirty
    doc.redo()
    assert doc.project.optimizer["type"] == "Adam"


def test_section_and_network_edits_share_one_history():
    doc = document()
    doc.execute(SetSection("device", "cuda:0"))
    doc.execute(RenameNode((0,), "body"))
    doc.undo()
    assert doc.network.children[0].name == "features" and doc.project.device == "cuda:0"
    doc.undo()
    assert doc.project.device == "cpu"


@pytest.mark.parametrize(
    "section, value, where",
    [
        ("optimizer", {"type": "Adamm"}, "optimizer.type"),
        ("init", {"seed": -2}, "init.seed"),
        ("device", "gpu", "device"),
        ("freeze", [3], "freeze[0]"),
        ("colour", "red", "colour"),
    ],
)
def test_a_bad_section_value_is_refused_and_changes_nothing(section, value, where):
    doc = document()
    before = doc.project.to_json()
    with pytest.raises(EditError) as caught:
        doc.execute(SetSection(section, value))
    assert caught.value.where == where
    assert doc.project.to_json() == before and not doc.undo_stack.can_undo
