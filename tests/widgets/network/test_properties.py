"""The properties form: generated editors, checked values, one undoable command per change."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from app.network.argtypes import check_value
from app.network.catalog import layer_type
from app.network.spec import layer
from app.project.network_commands import AddNode
from widgets.network.properties import PropertiesPanel, parse_value


@pytest.fixture
def panel(qtbot, cnn_session):
    widget = PropertiesPanel(cnn_session)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def type_into(qtbot, field, text):
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key_Return)


def test_editors_follow_the_argument_types(panel, cnn_session):
    cnn_session.select("features.0")
    assert "Conv2d" in panel.title.text() and panel.doc.text() == layer_type("Conv2d").doc
    assert isinstance(panel.editor("in_channels"), QSpinBox) and panel.editor("in_channels").minimum() == 1
    assert panel.editor("in_channels").value() == 3
    assert isinstance(panel.editor("bias"), QCheckBox) and panel.editor("bias").isChecked()
    assert isinstance(panel.editor("padding_mode"), QComboBox)
    kernel = panel.editor("kernel_size")
    assert isinstance(kernel, QLineEdit) and kernel.text() == "5"
    assert panel.editor("padding").placeholderText() == "default: 0"
    assert "Union[int, tuple[int, int]]" in kernel.toolTip() and "required" in kernel.toolTip()
    assert "default: 1" in panel.editor("stride").toolTip()


def test_a_bad_value_in_an_int_or_list_field_is_refused_and_nothing_changes(qtbot, panel, cnn_session):
    cnn_session.select("features.0")
    before, depth = cnn_session.snapshot(), len(cnn_session.document.undo_stack)
    field = panel.editor("kernel_size")
    type_into(qtbot, field, "3, x")
    assert "kernel_size must be an integer or a list of 2 integers" in panel.error_text("kernel_size")
    assert field.text() == "3, x" and field.selectedText() == "3, x"
    type_into(qtbot, field, "0")
    assert "positive integer" in panel.error_text("kernel_size")
    assert cnn_session.snapshot() == before and len(cnn_session.document.undo_stack) == depth
    type_into(qtbot, field, "3, 3")
    assert panel.error_text("kernel_size") == ""
    assert cnn_session.network.find("features.0").args["kernel_size"] == 3  # canonical: (3, 3) is 3
    type_into(qtbot, panel.editor("padding"), "same")
    assert cnn_session.network.find("features.0").args["padding"] == "same"
    cnn_session.undo()
    assert "padding" not in cnn_session.network.find("features.0").args


def test_each_accepted_change_is_one_undoable_command(qtbot, panel, cnn_session):
    cnn_session.select("classifier.1")
    depth = len(cnn_session.document.undo_stack)
    panel.editor("bias").click()
    assert cnn_session.network.find("classifier.1").args["bias"] is False
    spin = panel.editor("out_features")
    type_into(qtbot, spin, "64")
    assert cnn_session.network.find("classifier.1").args["out_features"] == 64
    assert len(cnn_session.document.undo_stack) == depth + 2
    cnn_session.undo()
    assert panel.editor("out_features").value() == 120
    cnn_session.undo()
    assert panel.editor("bias").isChecked()


def test_choices_optional_values_and_the_name_field(qtbot, panel, cnn_session):
    cnn_session.execute(AddNode((), None, layer("CrossEntropyLoss")))
    cnn_session.execute(AddNode((), None, layer("AdaptiveAvgPool2d", output_size=[None, 7])))
    cnn_session.select("2")
    panel.editor("reduction").setCurrentText("sum")
    assert cnn_session.network.find("2").args == {"reduction": "sum"}
    cnn_session.select("3")
    assert panel.editor("output_size").text() == "none, 7"
    type_into(qtbot, panel.editor("output_size"), "4")
    assert cnn_session.network.find("3").args == {"output_size": 4}
    assert panel.name_edit is not None and panel.name_edit.placeholderText() == "positional (3)"
    type_into(qtbot, panel.name_edit, "classifier")
    assert "'classifier' is already used" in panel.error_text("name")
    type_into(qtbot, panel.name_edit, "pool")
    assert cnn_session.network.child_names()[3] == "pool" and cnn_session.selected == "pool"
    assert panel.error_text("name") == ""


def test_containers_show_their_kind_and_child_count(panel, cnn_session):
    cnn_session.select("features")
    assert panel.summary.text() == "Sequential: sequence container, 6 children"
    cnn_session.select("")
    assert panel.name_edit is None and "2 children" in panel.summary.text()


def test_parse_value_understands_what_users_type():
    kernel = layer_type("Conv2d").arg("kernel_size").type
    assert parse_value("3", kernel) == 3 and parse_value("3, 3", kernel) == [3, 3]
    assert parse_value("(3, 3)", kernel) == [3, 3]
    padding = layer_type("Conv2d").arg("padding").type
    assert parse_value("same", padding) == "same"
    assert parse_value("-1", layer_type("Reshape").arg("shape").type) == [-1]
    reduction = layer_type("MSELoss").arg("reduction").type
    assert parse_value("none", reduction) == "none"
    assert check_value(kernel, parse_value("3, 3, 3", kernel), "kernel_size") is not None
