"""One consistent look: Fusion with a light palette, readable fonts, quiet borders."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QWidget

STYLE_SHEET = """
QMainWindow, QDockWidget { font-size: 10pt; }
QDockWidget::title { background: #eef1f5; padding: 4px 8px; border-bottom: 1px solid #d5dae1; font-weight: 600; }
QTabWidget::pane { border-top: 1px solid #d5dae1; }
QTabBar::tab { padding: 6px 14px; }
QTabBar::tab:selected { font-weight: 600; }
QTreeView, QTableView, QListWidget { alternate-background-color: #f6f8fa; selection-background-color: #cfe3ff;
    selection-color: #10243e; border: 1px solid #d5dae1; }
QHeaderView::section { background: #f0f2f5; padding: 4px 6px; border: none; border-bottom: 1px solid #d5dae1;
    font-weight: 600; }
QPlainTextEdit, QTextEdit { font-family: "DejaVu Sans Mono", "Menlo", "Consolas", monospace; font-size: 9.5pt; }
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox { padding: 3px 5px; }
QLabel[role="error"] { color: #b3261e; }
QLabel[role="caption"] { color: #5b6573; }
QToolBar { spacing: 6px; padding: 3px; border-bottom: 1px solid #d5dae1; }
QStatusBar { border-top: 1px solid #d5dae1; }
"""


def apply_style(widget: QWidget) -> None:
    import pyqtgraph as pg

    pg.setConfigOptions(background="w", foreground="#333333", antialias=True)  # plots match the light UI
    app = QApplication.instance()
    if app is not None and app.style().objectName().lower() != "fusion":
        app.setStyle("Fusion")
    widget.setStyleSheet(STYLE_SHEET)
