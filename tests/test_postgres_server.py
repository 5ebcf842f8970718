"""The tests' own PostgreSQL: not root, stopped by PID, skipped when absent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import postgres
from tests.support.postgres import Unavailable

REPO = Path(__file__).resolve().parents[1]


def test_without_server_binaries_its_tests_skip_and_say_what_is_missing(tmp_path):
    env = {**os.environ, postgres.BIN_ENV: str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
        + ["tests/test_store.py", "-k", "records_round_trip"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    assert f"no PostgreSQL server binaries (initdb, postgres) in {tmp_path}" in (
        result.stdout
    )


@pytest.fixture
def fake_binaries() -> Iterator[Path]:
    """Return a folder anyone may read (the server may run as nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="cimi-gateway-fake-pg-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_server_that_cannot_be_made_is_unavailable_saying_why(
    fake_binaries, monkeypatch
):
    for name in ("initdb", "postgres"):
        script = fake_binaries / name
        script.write_text("#!/bin/sh\necho 'disk on fire' >&2\nexit 1\n")
        script.chmod(0o755)
    monkeypatch.setenv(postgres.BIN_ENV, str(fake_binaries))

    with pytest.raises(Unavailable, match="initdb failed: disk on fire"):
        postgres.start_postgres()


def test_a_server_binary_that_cannot_be_run_is_unavailable(fake_binaries, monkeypatch):
    for name in ("initdb", "postgres"):
        (fake_binaries / name).write_text("not a program\n")
        (fake_binaries / name).chmod(0o755)
    monkeypatch.setenv(postgres.BIN_ENV, str(fake_binaries))

    with pytest.raises(Unavailable, match="cannot run .*initdb"):
        postgres.start_postgres()


def test_the_server_runs_unprivileged_and_stops_by_its_pid():
    try:
        server = postgres.start_postgres()
    except Unavailable as ex:
        pytest.skip(f"no PostgreSQL test server: {ex}")
    try:
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:"))
        with server.connect(postgres.DATABASE) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        postgres.stop_postgres(server)

    assert "0" not in uids.split()[1:]
    assert server.process.returncode is not None
    assert not Path(f"/proc/{server.process.pid}").exists()
    assert not server.folder.exists()
    assert server.started_in < 30
