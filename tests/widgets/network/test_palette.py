"""The layer palette: search, family icons, drag data, and adding a layer where the selection says."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon

from app.network.build import build
from app.network.catalog import FAMILIES, catalog
from app.network.spec import Node
from widgets.network.new_layer import LAYER_MIME, default_node, family_icon
from widgets.network.palette import LayerPalette


def make_palette(qtbot, session):
    palette = LayerPalette(session)
    qtbot.addWidget(palette)
    palette.resize(400, 600)
    palette.show()
    qtbot.waitExposed(palette)
    return palette


def double_click(qtbot, palette, type_name):
    item = palette.item(type_name)
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    # a real double click presses first: QTest's mouseDClick alone sends only the second press
    qtbot.mouseClick(palette.tree.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(palette.tree.viewport(), Qt.LeftButton, pos=rect.center())


def test_search_filters_by_name_and_doc_case_insensitively(qtbot, session):
    palette = make_palette(qtbot, session)
    assert len(palette.visible_types()) == len(catalog())
    qtbot.keyClicks(palette.search, "linear")
    visible = palette.visible_types()
    assert "Linear" in visible and "Bilinear" in visible and "Conv2d" not in visible
    palette.search.clear()
    qtbot.keyClicks(palette.search, "RECTIFIED")  # ReLU's doc, not its name
    assert "ReLU" in palette.visible_types() and "Linear" not in palette.visible_types()
    palette.search.clear()
    qtbot.keyClicks(palette.search, "no such layer at all")
    assert palette.visible_types() == []
    assert all(header.isHidden() for header in palette._families.values())


def test_families_in_catalog_order_with_bold_headers_and_icons(qtbot, session):
    palette = make_palette(qtbot, session)
    tree = palette.tree
    headers = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert [h.text(0).lower() for h in headers] == list(FAMILIES)
    assert all(h.font(0).bold() and h.isExpanded() for h in headers)
    item = palette.item("Conv2d")
    assert item.toolTip(0) == catalog()["Conv2d"].doc and item.text(1) == catalog()["Conv2d"].doc
    icon = family_icon("convolution")
    assert isinstance(icon, QIcon) and not icon.isNull() and family_icon("convolution") is icon


def test_drag_data_carries_the_type_name(qtbot, session):
    palette = make_palette(qtbot, session)
    data = palette.tree.mimeData([palette.item("GELU")])
    assert bytes(data.data(LAYER_MIME)).decode() == "GELU"


def test_double_click_and_enter_add_layers_in_order(qtbot, session):
    palette = make_palette(qtbot, session)
    with qtbot.waitSignal(palette.layerChosen) as chosen:
        double_click(qtbot, palette, "Linear")
    assert chosen.args == ["Linear"]
    assert session.selected == "0"
    # in_features comes from the project's input [1, 3]
    assert session.network.children[0].args == {"in_features": 3, "out_features": 8}
    session.reanalyse()
    qtbot.keyClicks(palette.search, "ReLU6")
    qtbot.keyClick(palette.search, Qt.Key_Return)
    assert [c.type for c in session.network.children] == ["Linear", "ReLU6"]
    palette.tree.setCurrentItem(palette.item("Dropout"))
    palette.tree.setFocus()
    qtbot.keyClick(palette.tree, Qt.Key_Return)
    assert [c.type for c in session.network.children] == ["Linear", "ReLU6", "Dropout"]
    session.undo()
    assert [c.type for c in session.network.children] == ["Linear", "ReLU6"]


def test_layer_goes_into_a_selected_container_sized_from_the_incoming_shape(qtbot, cnn_session):
    palette = make_palette(qtbot, cnn_session)
    cnn_session.select("features")
    assert palette.choose("BatchNorm2d")
    assert cnn_session.network.find("features.6").to_json() == {"type": "BatchNorm2d", "args": {"num_features": 16}}
    cnn_session.reanalyse()
    cnn_session.select("classifier.0")
    assert palette.choose("Linear")
    assert cnn_session.network.find("classifier.1").args == {"in_features": 400, "out_features": 8}


def test_refusal_goes_to_the_status_bar(qtbot, cnn_session):
    palette = make_palette(qtbot, cnn_session)
    messages = []
    cnn_session.message.connect(messages.append)
    before = cnn_session.snapshot()
    cnn_session.select("")
    assert not palette.choose("ModuleList")  # a ModuleList only goes inside a Chain
    assert "ModuleList" in messages[-1] and cnn_session.snapshot() == before


def test_every_catalog_type_gets_buildable_defaults():
    for name in catalog():
        if name == "ModuleList":
            continue
        node = default_node(name, [8, 16, 10, 10])
        build(Node.from_json(node.to_json()), device="meta")
    residual = default_node("Residual")
    assert [c.name for c in residual.children] == ["body"]
    encoder = default_node("TransformerEncoder", [4, 10, 32])
    assert encoder.children[0].name == "encoder_layer" and encoder.children[0].args["d_model"] == 32
    assert default_node("Reshape").args == {"shape": [-1]}
