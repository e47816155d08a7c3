"""Killing a process in the middle of saving never leaves a broken project file.

A helper process imports nnstudio once and, on each request, forks a writer that saves two
different projects of the same size to the same path in a loop (same size, so that a kill is as
likely to land in one save as in the other). The writer tells us it
is looping; we SIGKILL it after a random delay (the point of the test: the kill lands at a
random moment of a save) and check that the file on disk is one of the two whole documents.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from app.project.project_file import load_project, project_bytes

KILLS = 30

DOCUMENTS = textwrap.dedent(
    """
    from app.network.inputs import InputSpec
    from app.project.project_file import Project
    from app.network.spec import container, layer

    def document(name, width):
        body = container("Sequential", *[layer("Linear", in_features=width, out_features=width)
                                         for _ in range(400)])
        return Project(body, [InputSpec([2, width])], name=name, description=name * 20_000)

    first, second = document("first", 8), document("second", 9)
    """
)

HELPER = DOCUMENTS + textwrap.dedent(
    """
    import os, sys
    from app.project.project_file import save_project

    path = sys.argv[1]
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            print(f"looping {os.getpid()}", flush=True)
            while True:
                save_project(first, path)
                save_project(second, path)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_save_killed_at_any_moment_leaves_a_whole_project(tmp_path):
    from app.project.project_file import save_project

    documents = {}
    exec(DOCUMENTS, documents)  # the very projects the helper writes
    by_bytes = {project_bytes(documents[name]): name for name in ("first", "second")}
    path = tmp_path / "p.nnproj"
    save_project(documents["first"], path)

    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    seen = set()
    rng = random.Random(1234)
    try:
        assert helper.stdout.readline().strip() == "ready"
        for _ in range(KILLS):
            helper.stdin.write("go\n")
            helper.stdin.flush()
            word, pid = helper.stdout.readline().split()
            assert word == "looping"
            _wait(rng.uniform(0, 0.3))  # the random moment of the kill, not a cover for a race
            os.kill(int(pid), signal.SIGKILL)
            assert helper.stdout.readline().strip() == "reaped"  # the writer is gone for good
            data = path.read_bytes()
            assert data in by_bytes, f"after a kill the file is {len(data)} bytes of neither document"
            seen.add(by_bytes[data])
            assert load_project(path) == documents[by_bytes[data]]
    finally:
        helper.kill()
        helper.wait()
    assert seen == {"first", "second"}  # the kills did land while both were being written
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "p.nnproj"]
    assert all(name.startswith(".p.nnproj.") and name.endswith(".tmp") for name in leftovers)


def _wait(seconds: float) -> None:
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
