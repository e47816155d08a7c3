"""The summary panel, driven as a user: input shapes, the analysis table, totals, print(model)."""

from PySide6.QtCore import Qt

from app.network.report import format_bytes, humanise
from widgets.inspect.parameters_model import GRAD
from widgets.inspect.parameters_panel import ParametersPanel
from widgets.inspect.summary_panel import SummaryPanel


def _panel(qtbot, session):
    panel = SummaryPanel(session)
    qtbot.addWidget(panel)
    return panel


def _type_shape(qtbot, panel, text):
    edit = panel.input_rows[0].shape_edit
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key_Return)


def test_editing_the_input_shape_reanalyses_and_undo_restores(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    assert panel.input_rows[0].shape_edit.text() == "8, 3, 32, 32"
    with qtbot.waitSignal(cnn_session.analysed):
        _type_shape(qtbot, panel, "8,3,36,36")
    assert cnn_session.project.inputs[0].shape == [8, 3, 36, 36]
    failed = [row for row in panel.table_model.rows if row.status == "failed"]
    assert [row.path for row in failed] == ["classifier.1"]
    assert "input (8, 576) but in_features=400" in failed[0].message
    index = panel.table_model.index(panel.table_model.rows.index(failed[0]), 0)
    assert panel.table_model.data(index, Qt.ForegroundRole).red() > 150
    assert "in_features=400" in panel.table_model.data(index, Qt.ToolTipRole)
    assert "in_features=400" in panel.totals_label.text()

    with qtbot.waitSignal(cnn_session.analysed):
        cnn_session.undo()
    assert cnn_session.project.inputs[0].shape == [8, 3, 32, 32]
    assert panel.input_rows[0].shape_edit.text() == "8, 3, 32, 32"
    assert all(row.status == "ok" for row in panel.table_model.rows)


def test_a_bad_shape_is_refused_with_the_reason_and_nothing_changes(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    panel.show()
    before = cnn_session.snapshot()
    _type_shape(qtbot, panel, "8,x")
    assert panel.input_error.isVisible()
    assert "integers separated by commas" in panel.input_error.text()
    assert cnn_session.snapshot() == before
    assert not cnn_session.document.undo_stack.can_undo


def test_the_table_rows_match_the_analysis(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    rows = cnn_session.analysis.rows
    assert panel.table_model.rowCount() == len(rows)
    texts = panel.row_texts()
    for row, cells in zip(rows, texts):
        assert cells[0] == f"{row.path} ({row.type})"
        assert cells[3] == f"{row.params:,}"
        assert cells[6] == humanise(row.flops)
        assert cells[7] == format_bytes(row.activation_bytes)
        assert cells[8] == row.status
    assert texts[0][0] == "features (Sequential)"
    assert [c for c in texts if c[0].startswith("features.0 ")][0][2] == "[8, 6, 28, 28]"
    assert panel.totals["total"] == cnn_session.analysis.total_params == 62006


def test_print_model_and_warnings_are_shown(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    text = panel.model_text.toPlainText()
    assert text.startswith("Sequential(")
    assert "(0): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))" in text
    assert panel.model_text.isReadOnly()
    assert panel.warnings_list.count() == len(cnn_session.warnings)


def test_selecting_a_row_selects_the_module(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    row = [r.path for r in panel.table_model.rows].index("classifier.1")
    with qtbot.waitSignal(cnn_session.selectionChanged) as blocker:
        panel.table.selectRow(row)
    assert blocker.args == ["classifier.1"]
    assert cnn_session.selected == "classifier.1"


def test_adding_and_removing_an_input_is_undoable(qtbot, session):
    panel = _panel(qtbot, session)
    assert not panel.remove_input_button.isEnabled()
    with qtbot.waitSignal(session.analysed):
        qtbot.mouseClick(panel.add_input_button, Qt.LeftButton)
    assert len(session.project.inputs) == 2 and len(panel.input_rows) == 2
    with qtbot.waitSignal(session.analysed):
        qtbot.mouseClick(panel.remove_input_button, Qt.LeftButton)
    assert len(session.project.inputs) == 1 and len(panel.input_rows) == 1


def test_freezing_in_the_tree_lowers_the_summary_trainable_params(qtbot, cnn_session):
    summary = _panel(qtbot, cnn_session)
    parameters = ParametersPanel(cnn_session)
    qtbot.addWidget(parameters)
    total = summary.totals["trainable"]
    index = parameters.model.index_of("features.0.weight").siblingAtColumn(GRAD)
    with qtbot.waitSignal(cnn_session.analysed):
        assert parameters.model.setData(index, Qt.Unchecked, Qt.CheckStateRole)
    assert summary.totals["trainable"] == total - 450
    row = [r.path for r in summary.table_model.rows].index("features.0")
    assert summary.row_texts()[row][4] == "6"


def test_the_batch_size_typed_updates_memory_and_fit_live(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    before, flops_at_8 = cnn_session.estimate, panel.table_model.rows[0].flops
    assert before.memory.activations > 0 and before.fit.batch_size == 8
    assert "Training memory:" in panel.memory_label.text() and "Batch 8 fits cpu" in panel.memory_label.text()
    assert "Activations: " + format_bytes(before.memory.activations) in panel.memory_label.text()
    with qtbot.waitSignal(cnn_session.analysed):
        _type_shape(qtbot, panel, "32,3,32,32")
    after = cnn_session.estimate
    assert after.memory.activations > 3 * before.memory.activations
    assert after.memory.parameters == before.memory.parameters
    assert after.fit.batch_size == 32 and "Batch 32 fits cpu" in panel.memory_label.text()
    assert panel.table_model.rows[0].flops == 4 * flops_at_8
    assert panel.row_texts()[0][6] == humanise(4 * flops_at_8)
