"""The parameters tree and its plots, driven as a user."""

from PySide6.QtCore import QModelIndex, Qt

from app.network.inputs import InputSpec
from app.network.spec import container, layer
from app.project.project_file import Project
from widgets.inspect.parameters_model import COLUMNS, GRAD, GROUP, INIT, LR, MEAN, SHAPE, ParametersModel
from widgets.inspect.parameters_panel import ParametersPanel
from widgets.session import Session


def _panel(qtbot, session):
    panel = ParametersPanel(session)
    qtbot.addWidget(panel)
    return panel


def _cell(model, path, column, role=Qt.DisplayRole):
    return model.data(model.index_of(path).siblingAtColumn(column), role)


def test_the_tree_is_lazy(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    model = panel.model
    assert model.rowCount() == 0 and model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert [model.data(model.index(r, 0)) for r in range(model.rowCount())] == ["features", "classifier"]
    features = model.index(0, 0)
    assert model.hasChildren(features) and model.rowCount(features) == 0  # listed on expansion only
    panel.tree.expand(features)
    model.fetchMore(features)
    assert model.rowCount(features) == 6


def test_unchecking_requires_grad_freezes_and_undo_restores(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    panel.show()
    before = panel.trainable
    assert before == 62006
    index = panel.model.index_of("features.0.weight").siblingAtColumn(GRAD)
    assert panel.model.flags(index) & Qt.ItemIsUserCheckable
    assert panel.model.data(index, Qt.CheckStateRole) == Qt.Checked
    assert panel.model.setData(index, Qt.Unchecked, Qt.CheckStateRole)
    assert cnn_session.project.freeze == ["features.0.weight"]
    assert panel.trainable == before - 6 * 3 * 5 * 5
    assert "61,556 of 62,006" in panel.trainable_label.text()
    index = panel.model.index_of("features.0.weight").siblingAtColumn(GRAD)
    assert panel.model.data(index, Qt.CheckStateRole) == Qt.Unchecked
    assert _cell(panel.model, "features.0.weight", GROUP) == "frozen"

    with qtbot.waitSignal(cnn_session.analysed):
        cnn_session.undo()
    assert cnn_session.project.freeze == []
    assert panel.trainable == before

    # checking it again after a freeze removes the exact name
    index = panel.model.index_of("features.0.bias").siblingAtColumn(GRAD)
    panel.model.setData(index, Qt.Unchecked, Qt.CheckStateRole)
    index = panel.model.index_of("features.0.bias").siblingAtColumn(GRAD)
    assert panel.model.setData(index, Qt.Checked.value, Qt.CheckStateRole)
    assert cnn_session.project.freeze == [] and panel.trainable == before


def test_group_lr_and_init_columns(qtbot, seed_groups_session):
    panel = _panel(qtbot, seed_groups_session)
    model = panel.model
    assert _cell(model, "classifier.1.weight", GROUP) == "classifier"
    assert _cell(model, "classifier.1.weight", LR) == "0.01"
    assert _cell(model, "features.3.bias", GROUP) == "features"
    assert _cell(model, "features.3.bias", LR) == "1e-05"
    assert _cell(model, "features.3.bias", INIT) == "default"
    mean = float(_cell(model, "classifier.1.weight", MEAN))
    assert abs(mean) < 0.01


def test_the_conv_weight_tooltip_names_its_dimensions(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    model = panel.model
    assert _cell(model, "features.0.weight", SHAPE) == "[6, 3, 5, 5]"
    tip = _cell(model, "features.0.weight", SHAPE, Qt.ToolTipRole)
    assert "out_channels=6" in tip and "in_channels=3" in tip and "kH=5" in tip
    assert "out_features=120, in_features=400" in _cell(model, "classifier.1.weight", SHAPE, Qt.ToolTipRole)


def test_buffers_and_rnn_tooltips(qtbot):
    network = container("Sequential", layer("BatchNorm1d", num_features=4), layer("GRU", input_size=4, hidden_size=5))
    session = Session(Project(network, [InputSpec([2, 4])]))
    model = ParametersModel(session)
    assert _cell(model, "0.running_mean", 1) == "buffer"
    assert "num_features=4" in _cell(model, "0.running_mean", SHAPE, Qt.ToolTipRole)
    assert "3*hidden_size=15, input_size=4" in _cell(model, "1.weight_ih_l0", SHAPE, Qt.ToolTipRole)
    assert len(COLUMNS) == 12


def test_selecting_tensors_shows_histogram_and_heat_map(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    panel.show()
    assert panel.select_path("classifier.1.weight")
    assert panel.showing_histogram() and panel.showing_image()
    assert panel.image_item.image.shape == (120, 400)
    assert cnn_session.selected == "classifier.1"
    assert panel.select_path("features.0.weight")
    assert panel.image_item.image.shape == (6, 75)  # [out, in*kH*kW]
    assert panel.select_path("features.0.bias")
    assert panel.showing_histogram() and not panel.showing_image()


def test_clicking_the_checkbox_freezes(qtbot, cnn_session):
    from PySide6.QtCore import QPoint

    panel = _panel(qtbot, cnn_session)
    panel.resize(1200, 600)
    panel.show()
    assert panel.select_path("classifier.5.bias")
    index = panel.model.index_of("classifier.5.bias").siblingAtColumn(GRAD)
    panel.tree.scrollTo(index)
    rect = panel.tree.visualRect(index)
    qtbot.mouseClick(panel.tree.viewport(), Qt.LeftButton, pos=QPoint(rect.left() + 10, rect.center().y()))
    assert cnn_session.project.freeze == ["classifier.5.bias"]
    assert panel.trainable == 62006 - 10
