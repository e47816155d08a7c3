import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


class Result:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.code = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def nnstudio():
    """Run ``python -m app ...`` as a user would, headless, and capture what it prints."""

    def run(*args: str, env: dict | None = None, timeout: float = 120) -> Result:
        environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        environment.pop("QT_QPA_PLATFORM", None)
        environment.update(env or {})
        completed = subprocess.run(
            [sys.executable, "-m", "app", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=environment,
            timeout=timeout,
        )
        return Result(completed)

    return run
