"""The internals panel: a module's registries, hooks, training flag and warnings."""

from torch import nn

from app.network.lint import LintWarning
from widgets.inspect.internals_panel import InternalsPanel, describe, hook_name


def _panel(qtbot, session):
    panel = InternalsPanel(session)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_features_0_shows_its_parameters_and_training_flag(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    with qtbot.waitSignal(cnn_session.selectionChanged):
        cnn_session.select("features.0")
    parameters = panel.entries("_parameters")
    assert list(parameters) == ["weight", "bias"]
    assert parameters["weight"] == "Parameter [6, 3, 5, 5]"
    assert panel.entries("_modules") == {}
    assert panel.entries("training") == {"training": "True"}
    assert "Conv2d" in panel.title_label.text()
    captions = [panel.tree.topLevelItem(i).text(1) for i in range(panel.tree.topLevelItemCount())]
    assert any("children's are in _modules" in caption for caption in captions)


def test_a_container_lists_its_children_and_hooks_are_named(qtbot, cnn_session):
    panel = _panel(qtbot, cnn_session)
    model = cnn_session.model()

    def keep_output(module, inputs, output):
        return None

    handle = model.features.register_forward_hook(keep_output)
    try:
        cnn_session.select("features")
        modules = panel.entries("_modules")
        assert modules["0"] == "Conv2d" and modules["2"] == "MaxPool2d" and len(modules) == 6
        hooks = panel.entries("_forward_hooks")
        assert list(hooks.values()) == [hook_name(keep_output)]
        assert "keep_output" in hook_name(keep_output)
        assert panel.section("_forward_hooks").title == "_forward_hooks (1)"
    finally:
        handle.remove()


def test_warnings_at_or_below_the_module_are_listed():
    class Hidden(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 2)
            self.layers = [nn.Linear(2, 2)]

    model = Hidden()
    model.eval()
    warnings = [
        LintWarning("inner.layers", "module-container", "a plain list", 6),
        LintWarning("layers", "module-container", "a plain list of modules", 6),
    ]
    sections = {s.name: s for s in describe(model, "", warnings)}
    assert len(sections["warnings"].entries) == 2
    assert sections["training"].entries == [("training", "False")]
    inner = {s.name: s for s in describe(model.inner, "inner", warnings)}
    assert inner["warnings"].entries == [("inner.layers", "a plain list")]
    assert [key for key, _ in inner["_parameters"].entries] == ["weight", "bias"]
