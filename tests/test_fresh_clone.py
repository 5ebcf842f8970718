"""A fresh clone, alone: the suite needs nothing beside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_reference_file_tests_skip_and_say_what_to_put_where(tmp_path):
    env = {**os.environ, "CIMI_GATEWAY_SHARED": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
        + ["tests/cimi/test_xsd.py", "tests/cimi/test_codec_read.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert " skipped" in result.stdout and " passed" in result.stdout
    assert "set CIMI_GATEWAY_SHARED to a folder holding" in result.stdout
    assert "error" not in result.stdout.lower()


def test_only_the_reference_file_helper_looks_beside_the_repository():
    helper = REPO / "tests" / "support" / "shared.py"
    others = [
        path
        for folder in ("gateway", "providers", "tests", "bench", "config")
        for path in (REPO / folder).rglob("*.py")
        if path not in (helper, Path(__file__).resolve())
        and '"shared"' in path.read_text(encoding="utf-8")
    ]

    assert others == []
