"""nnstudio's Qt-free core: specs, building, analysis, project files and the CLI."""

__version__ = "0.1.0"
