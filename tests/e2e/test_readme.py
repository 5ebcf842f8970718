"""The README's "Try it" walk-through, run as a new user pastes it: twice."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import mock_config
from tests.e2e.gunicorn import Gateway

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- try-it:"


def walk_through() -> str:
    """Return the README's Try-it shell block."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    return re.search(r"```sh\n(.*?)```", after, flags=re.DOTALL).group(1)


def jobs_in(output: str) -> list[dict]:
    """Return the Job documents the walk-through printed."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"resourceURI"' in line:
            document = json.loads(line)
            if document["resourceURI"].endswith("/Job"):
                documents.append(document)
    return documents


@pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl")), reason="needs bash and curl"
)
def test_the_walk_through_runs_as_pasted_and_again(tmp_path):
    # A slower cloud than instant: the walk-through must wait for its jobs.
    gateway = Gateway(mock_config(tmp_path, delay=0.5)).start()
    script = walk_through().replace("http://127.0.0.1:8000", gateway.url)
    try:
        runs = [
            subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, timeout=120
            )
            for _ in range(2)
        ]
    finally:
        gateway.stop()

    for run in runs:
        assert run.returncode == 0, run.stderr
        jobs = jobs_in(run.stdout)
        assert [job["action"].rsplit("/", 1)[-1] for job in jobs] == [
            "capture",
            "add",
            "stop",
            "delete",
        ]
        assert [job["status"] for job in jobs] == ["SUCCESS"] * 4, run.stdout
        assert "delete image: 200" in run.stdout
        assert '"state":"STOPPED"' in run.stdout
        assert '"code":' not in run.stdout  # no error document anywhere
