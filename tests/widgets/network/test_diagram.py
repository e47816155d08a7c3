"""The block diagram: boxes per layer, residual and parallel drawing, selection both ways,
failed layers, zoom and export."""

import time
import xml.etree.ElementTree as ElementTree

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent

from app.network.report import humanise
from app.network.spec import container, layer
from app.project.network_commands import SetArgument
from app.project.project_file import load_project
from tests.cli.conftest import EXAMPLES
from widgets.network.diagram import FAMILY_COLOURS, BoxItem, DiagramView
from widgets.network.diagram_layout import layout, shape_text
from widgets.session import Session


def _view(qtbot, session) -> DiagramView:
    view = DiagramView(session)
    qtbot.addWidget(view)
    view.resize(500, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def _example(name: str) -> Session:
    path = EXAMPLES / f"{name}.nnproj"
    return Session(load_project(path), path)


def _leaves(network):
    return [(path, node) for path, node in network.walk() if not node.children and path]


def test_every_leaf_of_the_cnn_has_a_box_with_its_output_shape(qtbot, cnn_session):
    view = _view(qtbot, cnn_session)
    rows = {row.path: row for row in cnn_session.analysis.rows}
    leaves = _leaves(cnn_session.network)
    assert len(leaves) == 12
    for path, node in leaves:
        item = view.box_item(path)
        assert item is not None, path
        assert item.box.title == node.type
        assert item.box.shape == shape_text(rows[path].output_shape)
        params = f"{rows[path].params:,} param" + ("" if rows[path].params == 1 else "s")
        assert item.box.params == (f"{params} · {humanise(rows[path].flops)} FLOPs" if rows[path].flops else params)
    assert view.box_item("features.0").box.shape == "[8, 6, 28, 28]"
    assert view.box_item("features.0").box.params == "456 params · 5.6 M FLOPs"
    assert view.frame_item("features").frame.label.startswith("features")
    assert view.frame_item("classifier") is not None


def test_family_colours_cover_every_catalog_family():
    from app.network.catalog import FAMILIES

    assert set(FAMILIES) <= set(FAMILY_COLOURS)


def test_boxes_and_frames_do_not_overlap_and_edges_run_between_boxes(cnn_session):
    result = layout(cnn_session.network, cnn_session.analysis, cnn_session.project.inputs)
    boxes = sorted(result.boxes, key=lambda b: b.y)
    for upper, lower in zip(boxes, boxes[1:]):
        assert upper.y + upper.h < lower.y  # a single column, with room for an arrow between
    for frame in result.frames:
        inside = [b for b in result.boxes if b.path and b.path.startswith(frame.path + ".")]
        assert inside and all(
            frame.x < b.x and b.x + b.w < frame.x + frame.w and frame.y < b.y and b.y + b.h < frame.y + frame.h
            for b in inside
        )
    assert len(result.edges) == len(result.boxes) - 1


def test_residual_block_has_a_skip_path_and_a_join_node(qtbot):
    session = _example("resnet_block")
    view = _view(qtbot, session)
    skips = view.edge_items("skip")
    assert len(skips) == 3  # one around the first body, in and out of the second's projection
    join = view.box_item("3")
    assert join is not None and join.box.kind == "join" and join.box.title == "+"
    body = view.frame_item("3.body").sceneBoundingRect()
    centre = join.sceneBoundingRect().center()
    # the skip leaves above the body, runs right of the body's frame and ends beside the join
    skip = next(e for e in skips if abs(e.edge.points[-1][1] - centre.y()) < 1)
    assert skip.edge.points[0][1] < body.top()
    assert all(x > body.right() for x, _ in skip.edge.points[1:-1])
    assert abs(skip.edge.points[-1][0] - (centre.x() + join.box.w / 2)) < 1
    projection = view.box_item("5.projection")
    body = view.frame_item("5.body").sceneBoundingRect()
    assert projection is not None and projection.sceneBoundingRect().left() > body.right()


def test_parallel_branches_sit_side_by_side_and_join_at_a_cat_node(qtbot, session):
    network = container(
        "Sequential",
        container(
            "Parallel", layer("Linear", in_features=3, out_features=4), layer("Linear", in_features=3, out_features=2)
        ),
        layer("ReLU"),
    )
    result = layout(network)
    left, right = result.box("0.0"), result.box("0.1")
    assert abs(left.y - right.y) < 1 and left.x + left.w < right.x
    join = result.box("0")
    assert join.kind == "join" and join.title == "cat" and join.y > left.y + left.h
    assert sum(1 for e in result.edges if e.kind == "branch") == 4


def test_glue_blocks_are_pills(qtbot):
    session = _example("gru")
    view = _view(qtbot, session)
    for path in ("2", "3", "4"):
        assert view.box_item(path).box.kind == "pill"
    assert view.box_item("1").box.shape == "([8, 20, 64], [1, 8, 64])"


def test_clicking_a_box_selects_its_module(qtbot, cnn_session):
    view = _view(qtbot, cnn_session)
    item = view.box_item("classifier.3")
    view.centerOn(item)
    point = view.mapFromScene(item.sceneBoundingRect().center())
    with qtbot.waitSignal(cnn_session.selectionChanged) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=point)
    assert blocker.args == ["classifier.3"]
    assert cnn_session.selected == "classifier.3"
    assert item.selected


def test_session_selection_highlights_and_reveals_the_box(qtbot, cnn_session):
    view = _view(qtbot, cnn_session)
    view.resize(300, 250)
    cnn_session.select("classifier.5")
    item = view.box_item("classifier.5")
    assert item.selected and item.border_pen().width() >= 3
    assert item.border_pen().color().blue() > 200
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(item.sceneBoundingRect().center())
    cnn_session.select("features.0")
    assert not item.selected and view.box_item("features.0").selected
    cnn_session.select("features")
    assert view.frame_item("features").selected


def test_a_failing_layer_is_red_with_its_message(qtbot, cnn_session):
    view = _view(qtbot, cnn_session)
    cnn_session.execute(SetArgument((1, 1), "in_features", 500))
    cnn_session.reanalyse()
    item = view.box_item("classifier.1")
    assert item.failed
    assert item.border_pen().color().red() > 180 and item.border_pen().color().green() < 100
    message = cnn_session.analysis.row("classifier.1").message
    assert message and message in item.toolTip()
    assert not view.box_item("classifier.0").failed


def test_rebuilds_on_edits_and_on_a_new_project(qtbot, cnn_session):
    view = _view(qtbot, cnn_session)
    cnn_session.execute(SetArgument((1, 5), "out_features", 7))
    qtbot.waitUntil(lambda: view.box_item("classifier.5").box.shape == "[8, 7]")
    cnn_session.replace(load_project(EXAMPLES / "gru.nnproj"), None)
    assert view.box_item("features.0") is None and view.box_item("1").box.title == "GRU"


def test_zoom_keys_and_wheel(qtbot, cnn_session):
    view = _view(qtbot, cnn_session)
    start = view.zoom
    qtbot.keyClick(view, Qt.Key_Equal, Qt.ControlModifier)
    assert view.zoom > start
    qtbot.keyClick(view, Qt.Key_Minus, Qt.ControlModifier)
    qtbot.keyClick(view, Qt.Key_Minus, Qt.ControlModifier)
    assert view.zoom < start
    before = view.zoom
    wheel = QWheelEvent(
        QPointF(50, 50),
        view.mapToGlobal(QPointF(50, 50)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.NoButton,
        Qt.ControlModifier,
        Qt.NoScrollPhase,
        False,
    )
    view.wheelEvent(wheel)
    assert view.zoom == pytest.approx(before * 1.2**2)
    qtbot.keyClick(view, Qt.Key_0, Qt.ControlModifier)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.adjusted(-2, -2, 2, 2).contains(view.sceneRect())
    assert view.dragMode() == view.DragMode.ScrollHandDrag


def test_png_export(qtbot, cnn_session, tmp_path):
    view = _view(qtbot, cnn_session)
    target = tmp_path / "cnn.png"
    assert view.export_png(target, scale=2.0) == target
    image = QImage(str(target))
    assert not image.isNull()
    rect = view.sceneRect()
    assert abs(image.width() - 2 * rect.width()) <= 2 and abs(image.height() - 2 * rect.height()) <= 2
    assert image.height() > image.width() > 100


def test_svg_export(qtbot, cnn_session, tmp_path):
    view = _view(qtbot, cnn_session)
    target = tmp_path / "cnn.svg"
    assert view.export_svg(target) == target
    text = target.read_text()
    assert "<svg" in text
    root = ElementTree.fromstring(text)
    assert root.tag.endswith("svg")


def test_export_to_a_missing_folder_raises_oserror_naming_the_path(qtbot, cnn_session, tmp_path):
    view = _view(qtbot, cnn_session)
    target = tmp_path / "missing" / "cnn.png"
    with pytest.raises(OSError, match="missing"):
        view.export_png(target)
    with pytest.raises(OSError, match="missing"):
        view.export_svg(target.with_suffix(".svg"))


def test_five_hundred_layers_lay_out_and_draw_quickly(qtbot, session, tmp_path):
    children = []
    for _ in range(250):
        children += [layer("Linear", in_features=8, out_features=8), layer("ReLU")]
    big = container("Sequential", container("Sequential", *children, name="body"))
    from app.network.inputs import InputSpec
    from app.project.project_file import Project

    session.replace(Project(big, [InputSpec([2, 8])], name="big"), None)
    start = time.perf_counter()
    view = _view(qtbot, session)
    view.fit()
    view.viewport().grab()
    elapsed = time.perf_counter() - start
    assert sum(isinstance(i, BoxItem) for i in view.scene().items()) == 502  # + input and output
    assert elapsed < 2.0, elapsed


def test_a_failing_residual_sum_marks_its_join_node_and_frame(qtbot, session):
    from app.network.inputs import InputSpec
    from app.project.project_file import Project

    body = layer("Linear", name="body", in_features=3, out_features=4)
    network = container("Sequential", container("Residual", body), layer("ReLU"))
    session.replace(Project(network, [InputSpec([2, 3])], name="bad"), None)
    view = _view(qtbot, session)
    row = session.analysis.row("0")
    assert row.status == "failed"
    join = view.box_item("0")
    assert join.box.kind == "join" and join.failed and row.message in join.toolTip()
    assert view.frame_item("0").failed
    assert not view.box_item("0.body").failed
    assert view.box_item("1").box.status == "not computed" and view.box_item("1").box.shape == "—"
