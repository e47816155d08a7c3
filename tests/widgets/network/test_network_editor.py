"""The network tree, palette and properties form driven together, as a user would."""

import json

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.network.build import build
from app.project.network_commands import MoveNode
from widgets.network.new_layer import LAYER_MIME
from widgets.network.palette import LayerPalette
from widgets.network.properties import PropertiesPanel
from widgets.network.tree_model import ADDRESS_MIME, NAME, NetworkModel
from widgets.network.tree_view import NetworkView

SEED = """Sequential(
  (0): Linear(in_features=3, out_features=4, bias=True)
  (1): ReLU()
  (2): Linear(in_features=4, out_features=2, bias=True)
  (3): ReLU()
)"""
SEED_NAMED = SEED.replace("(0)", "(module_name1)").replace("(1)", "(module_name2)")
SEED_NAMED = SEED_NAMED.replace("(2)", "(module_name3)").replace("(3)", "(module_name4)")


class Editor:
    def __init__(self, qtbot, session):
        self.window = QWidget()
        qtbot.addWidget(self.window)
        self.session = session
        self.palette = LayerPalette(session)
        self.view = NetworkView(session)
        self.props = PropertiesPanel(session)
        layout = QHBoxLayout(self.window)
        for widget in (self.palette, self.view, self.props):
            layout.addWidget(widget)
        self.window.resize(1400, 700)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.messages = []
        session.message.connect(self.messages.append)
        self.qtbot = qtbot

    def add(self, type_name):
        item = self.palette.item(type_name)
        self.palette.search.clear()
        self.qtbot.keyClicks(self.palette.search, type_name)
        rect = self.palette.tree.visualItemRect(item)
        self.qtbot.mouseClick(self.palette.tree.viewport(), Qt.LeftButton, pos=rect.center())
        self.qtbot.mouseDClick(self.palette.tree.viewport(), Qt.LeftButton, pos=rect.center())

    def set_int(self, name, value):
        spin = self.props.editor(name)
        spin.setFocus()
        spin.selectAll()
        self.qtbot.keyClicks(spin, str(value))
        self.qtbot.keyClick(spin, Qt.Key_Return)

    def index(self, path, column=NAME):
        return self.view.network_model.index_for_path(path, column)

    def click(self, path):
        rect = self.view.visualRect(self.index(path))
        self.qtbot.mouseClick(self.view.viewport(), Qt.LeftButton, pos=rect.center())
        assert self.session.selected == path

    def rename(self, path, text, gesture="double-click"):
        self.click(path)
        index = self.index(path)
        if gesture == "F2":
            self.view.setFocus()
            self.qtbot.keyClick(self.view, Qt.Key_F2)
        else:
            rect = self.view.visualRect(index)
            self.qtbot.mouseDClick(self.view.viewport(), Qt.LeftButton, pos=rect.center())
        editor = self.view.indexWidget(index)
        assert editor is not None, "the Name cell did not open an editor"
        editor.selectAll()
        self.qtbot.keyClicks(editor, text)
        self.qtbot.keyClick(editor, Qt.Key_Return)
        # the delegate commits on the next turn of the event loop
        self.qtbot.waitUntil(lambda: self.view.state() != self.view.State.EditingState)

    def names(self):
        model = self.view.network_model
        root = model.index(0, 0)
        return [model.index(row, NAME, root).data() for row in range(model.rowCount(root))]


@pytest.fixture
def editor(qtbot, session):
    return Editor(qtbot, session)


def build_seed(editor):
    editor.add("Linear")
    editor.set_int("in_features", 3)
    editor.set_int("out_features", 4)
    editor.add("ReLU")
    editor.add("Linear")
    editor.set_int("in_features", 4)
    editor.set_int("out_features", 2)
    editor.add("ReLU")


def test_build_the_seed_sequential_from_the_palette(editor):
    build_seed(editor)
    assert str(build(editor.session.network)) == SEED
    assert editor.names() == ["(0)", "(1)", "(2)", "(3)"]
    editor.session.reanalyse()
    model = editor.view.network_model
    assert model.index_for_path("2", 2).data() == "[1, 2]"
    assert model.index_for_path("0", 3).data() == "16"
    assert model.index(0, 3).data() == "26"


def test_rename_children_in_the_tree_gives_the_add_module_version(editor):
    build_seed(editor)
    for i in range(4):
        editor.rename(str(i), f"module_name{i + 1}", gesture="F2" if i % 2 else "double-click")
    assert str(build(editor.session.network)) == SEED_NAMED
    assert editor.names() == ["module_name1", "module_name2", "module_name3", "module_name4"]
    assert editor.session.selected == "module_name4"
    assert editor.messages == []


def test_duplicate_and_invalid_names_are_refused_and_the_old_name_stays(editor):
    build_seed(editor)
    editor.rename("0", "fc")
    editor.rename("1", "fc")
    assert editor.messages and "'fc' is already used" in editor.messages[-1]
    assert editor.names() == ["fc", "(1)", "(2)", "(3)"]
    editor.rename("2", "2fast")
    assert "'2fast' is not a valid Python identifier" in editor.messages[-1]
    assert editor.names() == ["fc", "(1)", "(2)", "(3)"]
    assert [c.name for c in editor.session.network.children] == ["fc", None, None, None]


def test_a_sequence_of_edits_undoes_to_the_start_and_redoes_to_the_end(editor):
    session = editor.session
    build_seed(editor)
    start = json.dumps(session.network.to_json(), sort_keys=True)
    before = len(session.document.undo_stack)
    editor.click("1")
    editor.add("Dropout")  # add
    editor.rename("2", "drop")  # rename
    editor.click("0")
    editor.set_int("out_features", 5)  # set an argument
    model = editor.view.network_model
    data = model.mimeData([model.index_for_path("drop")])
    assert model.dropMimeData(data, Qt.MoveAction, 0, 0, model.index(0, 0))  # drag drop to the top
    assert session.network.children[0].name == "drop"
    editor.click("3")
    editor.view.setFocus()
    editor.qtbot.keyClick(editor.view, Qt.Key_Delete)  # delete
    end = json.dumps(session.network.to_json(), sort_keys=True)
    assert len(session.document.undo_stack) == before + 5
    for _ in range(5):
        session.undo()
    assert json.dumps(session.network.to_json(), sort_keys=True) == start
    for _ in range(5):
        session.redo()
    assert json.dumps(session.network.to_json(), sort_keys=True) == end
    assert editor.names() == ["drop", "(1)", "(2)", "(3)"]


def test_argument_edit_marks_the_failing_row_red_with_the_message(qtbot, cnn_session):
    editor = Editor(qtbot, cnn_session)
    editor.click("classifier.1")
    with qtbot.waitSignal(cnn_session.analysed):
        editor.set_int("in_features", 500)
    index = editor.index("classifier.1")
    assert index.data(Qt.ToolTipRole) == "classifier.1 (Linear): input (8, 400) but in_features=500"
    assert index.data(Qt.ForegroundRole).color().name() == "#c62828"
    assert not index.data(Qt.DecorationRole).isNull()
    later = editor.index("classifier.3", 2)
    assert later.data(Qt.ForegroundRole).color().name() == "#9e9e9e"
    assert editor.index("features.0", 2).data() == "[8, 6, 28, 28]"
    assert editor.props.problem.text() == "classifier.1 (Linear): input (8, 400) but in_features=500"
    cnn_session.undo()
    cnn_session.reanalyse()
    assert editor.index("classifier.1").data(Qt.ForegroundRole) is None


def test_copy_paste_duplicates_a_subtree_delete_removes_wrap_nests(qtbot, cnn_session):
    editor = Editor(qtbot, cnn_session)
    view = editor.view
    editor.click("features")
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_C, Qt.ControlModifier)
    assert QGuiApplication.clipboard().mimeData().hasFormat("application/x-nnstudio-node")
    copied = json.loads(QGuiApplication.clipboard().text())
    editor.click("classifier")
    view.actions_by_name["paste"].trigger()  # right after the selection, with a free name
    assert cnn_session.network.child_names() == ["features", "classifier", "features_2"]
    assert cnn_session.network.find("features_2").to_json() == {**copied, "name": "features_2"}
    assert cnn_session.selected == "features_2"
    editor.click("features.5")
    qtbot.keyClick(view, Qt.Key_V, Qt.ControlModifier)  # after a layer: its next sibling
    assert cnn_session.network.find("features").child_names()[6] == "features"
    assert len(cnn_session.network.find("features.features").children) == 6
    assert cnn_session.selected == "features.features"
    qtbot.keyClick(view, Qt.Key_Delete)
    assert cnn_session.network.find("features.features") is None
    assert cnn_session.selected == "features.5"
    editor.click("features.0")
    qtbot.keyClick(view, Qt.Key_D, Qt.ControlModifier)
    assert [c.type for c in cnn_session.network.find("features").children][:2] == ["Conv2d", "Conv2d"]
    assert cnn_session.selected == "features.1"
    editor.click("classifier.1")
    view.actions_by_name["wrap_sequential"].trigger()
    wrapper = cnn_session.network.find("classifier.1")
    assert wrapper.type == "Sequential" and [c.type for c in wrapper.children] == ["Linear"]
    assert editor.index("classifier.1.0").isValid()


def test_paste_of_a_named_subtree_gets_a_free_name(qtbot, cnn_session):
    editor = Editor(qtbot, cnn_session)
    editor.click("features")
    editor.view.actions_by_name["copy"].trigger()
    cnn_session.select("")
    editor.view.actions_by_name["paste"].trigger()  # root selected: appended to the root
    assert [c.name for c in cnn_session.network.children] == ["features", "classifier", "features_2"]
    editor.view.actions_by_name["paste"].trigger()
    assert cnn_session.network.child_names() == ["features", "classifier", "features_2", "features_3"]
    QGuiApplication.clipboard().setText("not a module")
    assert not editor.view.paste()
    assert "the clipboard holds no module" in editor.messages[-1]


def test_drop_from_the_palette_and_move_into_and_out_of_containers(qtbot, cnn_session):
    model = NetworkModel(cnn_session)
    data = QMimeData()
    data.setData(LAYER_MIME, b"BatchNorm2d")
    assert model.dropMimeData(data, Qt.CopyAction, 1, 0, model.index_for_path("features"))
    assert cnn_session.network.find("features.1").to_json() == {"type": "BatchNorm2d", "args": {"num_features": 6}}
    move = model.mimeData([model.index_for_path("classifier.0")])
    assert move.hasFormat(ADDRESS_MIME)
    assert model.dropMimeData(move, Qt.MoveAction, -1, 0, model.index_for_path("features"))  # out of classifier
    assert cnn_session.network.find("features.7").type == "Flatten"
    back = model.mimeData([model.index_for_path("features.7")])
    assert model.dropMimeData(back, Qt.MoveAction, -1, 0, model.index_for_path("classifier.0"))  # onto a layer
    assert cnn_session.network.find("classifier.1").type == "Flatten"
    messages = []
    cnn_session.message.connect(messages.append)
    into_itself = model.mimeData([model.index_for_path("features")])
    assert not model.dropMimeData(into_itself, Qt.MoveAction, -1, 0, model.index_for_path("features.0"))
    assert "into itself" in messages[-1]


def test_model_refreshes_on_changes_and_undo_redo_through_the_session(qtbot, cnn_session):
    model = NetworkModel(cnn_session)
    with qtbot.waitSignal(model.modelReset):
        cnn_session.execute(MoveNode((1,), (), 0))
    assert model.index(0, 0, model.index(0, 0)).data() == "classifier"
    with qtbot.waitSignal(model.modelReset):
        cnn_session.undo()
    assert model.index(0, 0, model.index(0, 0)).data() == "features"
    cnn_session.redo()
    assert model.index(0, 0, model.index(0, 0)).data() == "classifier"
    assert model.index(0, 0).data() == "network" and model.index(0, 1).data() == "Sequential"
    assert model.address_of("classifier.1") == (0, 1) and model.path_of((1, 3)) == "features.3"
    assert model.index_for_address((1, 3)).data() == "(3)"


def test_selection_follows_the_session_both_ways(editor):
    build_seed(editor)
    editor.session.select("2")
    assert editor.view.network_model.path_of_index(editor.view.currentIndex()) == "2"
    editor.click("1")
    assert editor.props.title.text().startswith("<b>ReLU</b>")


def test_a_module_kept_in_eval_from_the_tree_survives_model_train(qtbot, cnn_session):
    from widgets.network.tree_view import NetworkView

    view = NetworkView(cnn_session)
    qtbot.addWidget(view)
    cnn_session.select("features.1")
    menu = view.context_menu()
    mode_menu = next(a.menu() for a in menu.actions() if a.text() == "Mode during training")
    next(a for a in mode_menu.actions() if a.text().startswith("Keep in eval")).trigger()
    assert cnn_session.project.mode["overrides"] == {"features.1": False}
    model = cnn_session.model()
    model.train()
    assert model.features[1].training is False and model.features[0].training is True
    cnn_session.undo()
    assert cnn_session.project.mode["overrides"] == {}


def test_a_constructor_refusal_marks_its_own_row(qtbot, session):
    from PySide6.QtCore import Qt

    from app.network.spec import layer
    from app.project.network_commands import AddNode
    from widgets.network.tree_view import NetworkView

    view = NetworkView(session)
    qtbot.addWidget(view)
    session.execute(AddNode((), None, layer("ReLU")))
    session.execute(AddNode((), None, layer("MultiheadAttention", embed_dim=10, num_heads=3)))
    session.reanalyse()
    index = view.network_model.index_for_path("1")
    tooltip = view.network_model.data(index, Qt.ToolTipRole)
    assert "embed_dim must be divisible by num_heads" in tooltip
    assert ("1", "MultiheadAttention: embed_dim must be divisible by num_heads") in session.problems()
