"""Training in the window: a worker thread runs the engine while the plots, the activations and
the decision boundary follow; the GUI thread only drains events on its timer."""

from __future__ import annotations

import copy

import pytest
import torch
from PySide6.QtCore import Qt

from app.network.spec import layer
from app.project.network_commands import AddNode
from app.project.project_file import load_project
from app.project.section_commands import SetSection
from app.training.events import Finished, Stopped
from tests.cli.conftest import EXAMPLES
from widgets.main_window import MainWindow
from widgets.network.tree_model import PROBE
from widgets.session import Session

RUN_TIMEOUT_MS = 60_000


def spirals(epochs: int | None = None, **optimizer) -> Session:
    path = EXAMPLES / "spirals.nnproj"
    project = load_project(path)
    if epochs is not None:
        project.training = {**project.training, "epochs": epochs}
    if optimizer:
        project.optimizer = {"type": "SGD", "defaults": optimizer}
    return Session(project, path)


def steps_done(window: MainWindow) -> int:
    run = window.training.controller.run
    return run.engine.step if run is not None and run.engine is not None else -1


def start(qtbot, window: MainWindow) -> None:
    assert window.training.panel.start()
    qtbot.waitUntil(lambda: steps_done(window) >= 1, timeout=RUN_TIMEOUT_MS)


def test_a_run_on_the_spirals_example_draws_loss_accuracy_and_the_boundary(qtbot, window):
    win = window(spirals(epochs=2))
    controller = win.training.controller
    with qtbot.waitSignal(controller.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        qtbot.mouseClick(win.training.panel.start_button, Qt.LeftButton)
    assert isinstance(ended.args[0], Finished)
    plots = win.training.plots
    steps, losses = plots.points("step loss")
    assert len(steps) == ended.args[0].step and losses[-1] < losses[0]
    assert len(plots.points("val loss")[0]) == 2  # one point per epoch
    assert len(plots.points("step accuracy")[0]) > 0 and len(plots.points("train loss")[0]) == 2
    assert win.training.panel.boundary.isVisibleTo(win.training.panel)
    assert "Finished 2 epochs" in win.training.panel.message.text()
    assert set(win.training.activations.cards()) == {"1", "3"}  # the example probes both ReLUs
    assert controller.thread is None and not win.session.busy_reason


def test_pause_holds_the_run_resume_continues_and_stop_ends_it_within_a_step(qtbot, window):
    win = window(spirals(epochs=500))
    controller = win.training.controller
    start(qtbot, win)
    qtbot.keyClick(win.training.plots, Qt.Key_F6)  # Pause / resume
    assert controller.state == "paused"
    qtbot.waitUntil(lambda: controller.run.engine.paused)
    held = steps_done(win)
    qtbot.wait(300)  # a paused run takes no step, however long one waits
    assert steps_done(win) <= held + 1
    held = steps_done(win)
    qtbot.mouseClick(win.training.panel.pause_button, Qt.LeftButton)  # Resume
    assert controller.state == "running"
    qtbot.waitUntil(lambda: steps_done(win) > held + 5, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(controller.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        at_stop = steps_done(win)
        qtbot.mouseClick(win.training.panel.stop_button, Qt.LeftButton)
    final = ended.args[0]
    assert isinstance(final, Stopped) and final.reason == "user"
    assert at_stop <= final.step <= at_stop + 1
    assert "Stopped after step" in win.training.panel.message.text()


def test_closing_the_window_mid_run_stops_the_worker_and_keeps_the_weights(qtbot, window):
    session = spirals(epochs=500)
    win = window(session)
    before = copy.deepcopy(session.model().state_dict())
    start(qtbot, win)
    thread = win.training.controller.thread
    assert win.close()
    assert thread.isFinished() and win.training.controller.thread is None
    after = session.model().state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # trained values, not lost
    assert session.weights_unsaved


def test_edits_to_the_network_are_refused_during_a_run_but_mode_and_probes_change(qtbot, window):
    session = spirals(epochs=500)
    win = window(session)
    start(qtbot, win)
    with pytest.raises(Exception, match="training run is going"):
        session.execute(AddNode((), 0, layer("ReLU")))
    assert session.execute(SetSection("mode", {"training": False, "overrides": {}}, "eval mode"))
    run = win.training.controller.run
    qtbot.waitUntil(lambda: not run.setup.core.training, timeout=RUN_TIMEOUT_MS)
    win.training.controller.stop_and_wait()


def test_probing_a_module_mid_run_adds_its_card(qtbot, window):
    session = spirals(epochs=500)
    session.project.probes = {"modules": [], "every": 5}
    win = window(session)
    start(qtbot, win)
    model = win.network_view.network_model
    index = model.index_for_path("2", PROBE)
    assert model.setData(index, Qt.Checked, role=Qt.CheckStateRole)
    assert model.data(index, Qt.CheckStateRole) == Qt.Checked
    qtbot.waitUntil(lambda: "2" in win.training.activations.cards(), timeout=RUN_TIMEOUT_MS)
    win.training.controller.stop_and_wait()
    assert session.project.probes["modules"] == ["2"]


def test_a_nan_loss_is_reported_and_the_last_good_weights_are_kept(qtbot, window):
    session = spirals(epochs=5, lr=1e12)
    win = window(session)
    with qtbot.waitSignal(win.training.controller.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        win.training.panel.start()
    final = ended.args[0]
    assert isinstance(final, Stopped) and final.reason == "nonfinite"
    message = win.training.panel.message
    assert "not finite" in message.text() or "nan" in message.text().lower()
    assert message.property("role") == "error"
    weights = session.model().state_dict()
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert win.training.panel.start_button.isEnabled()  # usable again


def test_save_after_training_and_reopen_gives_the_trained_weights(qtbot, window, tmp_path):
    session = spirals(epochs=1)
    win = window(session)
    with qtbot.waitSignal(win.training.controller.runEnded, timeout=RUN_TIMEOUT_MS):
        win.training.panel.start()
    assert win.windowTitle().startswith("spirals.nnproj *")
    trained = copy.deepcopy(session.model().state_dict())
    target = tmp_path / "trained.nnproj"
    session.save(target)
    reopened = Session()
    reopened.open(target)
    again = reopened.model().state_dict()
    assert all(torch.equal(trained[k], again[k]) for k in trained)


def test_evaluate_shows_the_difference_between_train_and_eval_mode(qtbot, window):
    session = spirals()
    session.execute(AddNode((), 2, layer("Dropout", p=0.5)))
    win = window(session)
    controller = win.training.controller
    texts = []
    for training in (True, False):
        session.execute(SetSection("mode", {"training": training, "overrides": {}}, "mode"))
        with qtbot.waitSignal(controller.evaluated, timeout=RUN_TIMEOUT_MS):
            assert controller.evaluate()
        texts.append(win.training.panel.message.text())
    assert texts[0].startswith("Evaluation in train mode") and texts[1].startswith("Evaluation in eval mode")
    assert texts[0].split("loss ")[1] != texts[1].split("loss ")[1]


def test_a_run_that_cannot_start_says_why_and_changes_nothing(qtbot, window):
    session = spirals()
    session.project.training = {**session.project.training, "loss": {"type": "MSELoss"}}
    win = window(session)
    with qtbot.waitSignal(win.training.controller.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        win.training.panel.start()
    assert "MSELoss cannot compare" in win.training.panel.message.text()
    assert not session.busy_reason and ended.args[0].step == 0


def test_a_run_can_write_tensorboard_events_beside_the_project(qtbot, window, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    win = window(spirals(epochs=1))
    panel = win.training.panel
    panel.tensorboard.setChecked(True)
    panel.tensorboard_dir.setText(str(tmp_path / "tb"))
    with qtbot.waitSignal(win.training.controller.runEnded, timeout=RUN_TIMEOUT_MS):
        assert panel.start()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert "train/loss" in events.Tags()["scalars"]
    assert any(tag.startswith("probes/1") for tag in events.Tags()["histograms"])


def test_tensorboard_without_its_package_says_how_to_install_it(qtbot, window, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    win = window(spirals(epochs=1))
    panel = win.training.panel
    panel.tensorboard.setChecked(True)
    panel.tensorboard_dir.setText(str(tmp_path / "tb"))
    assert not panel.start()
    assert "nnstudio[tensorboard]" in panel.message.text() and panel.message.property("role") == "error"
    assert win.training.controller.state == "idle" and not win.session.busy_reason


def test_data_that_cannot_be_read_fails_the_run_with_the_file_named(qtbot, window, tmp_path):
    session = spirals()
    missing = tmp_path / "nowhere.csv"
    session.project.training = {
        **session.project.training,
        "dataset": {"name": "csv", "path": str(missing), "target": "label"},
    }
    win = window(session)
    with qtbot.waitSignal(win.training.controller.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        assert win.training.panel.start()  # the data is read on the worker: the window never waits for it
    assert ended.args[0].step == 0
    text = win.training.panel.message.text()
    assert "could not start" in text and "nowhere.csv" in text
    assert not session.busy_reason and win.training.panel.start_button.isEnabled()


def test_switching_to_eval_after_training_keeps_the_trained_weights(qtbot, window):
    session = spirals(epochs=1)
    win = window(session)
    with qtbot.waitSignal(win.training.controller.runEnded, timeout=RUN_TIMEOUT_MS):
        win.training.panel.start()
    trained = copy.deepcopy(session.model().state_dict())
    session.execute(SetSection("mode", {"training": False, "overrides": {}}, "eval mode"))
    model = session.model()
    assert not model.training and session.weights_unsaved
    assert all(torch.equal(trained[k], v) for k, v in model.state_dict().items())


def test_the_optimizer_line_counts_the_groups_torch_builds(qtbot, window):
    path = EXAMPLES / "cnn.nnproj"
    session = Session(load_project(path), path)
    win = window(session)
    line = win.training.panel.optimizer_line
    # features and classifier take every parameter: torch builds two groups, no empty default group
    assert "· 2 parameter groups" in line.text()
    optimizer = copy.deepcopy(session.project.optimizer)
    optimizer["groups"] = [{"select": "features.0"}, {"select": "features"}, {"select": "unknown"}]
    assert session.execute(SetSection("optimizer", optimizer, "three groups"))
    # features.0, the rest of features, and the default for the classifier; "unknown" matches nothing
    qtbot.waitUntil(lambda: "· 3 parameter groups" in line.text())
    optimizer["groups"] = [{"select": "*"}]
    assert session.execute(SetSection("optimizer", optimizer, "all in one"))
    qtbot.waitUntil(lambda: "· 1 parameter group ·" in line.text())
    session.undo()
    session.undo()
    qtbot.waitUntil(lambda: "· 2 parameter groups" in line.text())
