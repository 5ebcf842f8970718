"""The operators' pieces one at a time: the metrics folder a master counts
in, the metrics' own credentials, counting switched off, a busy SQLite file
at a worker's start."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from gateway import cli
from gateway import metrics
from gateway.auth import hash_password
from gateway.cimi.errors import Busy
from gateway.cimi.errors import Unauthorized
from gateway.resources.health import Metrics
from gateway.store import Store
from gateway.store import url_for_path

FOLDER, OWNER = cli.METRICS_FOLDER_ENV, cli.METRICS_OWNER_ENV


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(FOLDER, raising=False)
    monkeypatch.delenv(OWNER, raising=False)


def test_a_master_makes_a_folder_and_only_it_removes_it(clean_env):
    discard = cli.prepare_metrics_folder()
    folder = os.environ[FOLDER]
    assert os.path.isdir(folder) and os.environ[OWNER] == str(os.getpid())
    discard()
    assert not os.path.exists(folder)


def test_the_same_master_asking_again_keeps_its_folder_and_the_counts_in_it(
    clean_env,
):
    # Plain gunicorn reads its config file again on SIGHUP.
    discard = cli.prepare_metrics_folder()
    folder = os.environ[FOLDER]
    counts = Path(folder, "histogram_123.db")
    counts.write_bytes(b"counts")
    again = cli.prepare_metrics_folder()
    assert os.environ[FOLDER] == folder and counts.exists()
    again()  # what the re-read config's on_exit holds removes it too
    assert not os.path.exists(folder)
    discard()


def test_a_master_given_another_masters_folder_makes_its_own(
    clean_env, monkeypatch, tmp_path
):
    # A master started by USR2 inherits the old master's environment.
    theirs = tmp_path / "old-master"
    theirs.mkdir()
    (theirs / "histogram_9.db").write_bytes(b"counts")
    monkeypatch.setenv(FOLDER, str(theirs))
    monkeypatch.setenv(OWNER, "1")
    discard = cli.prepare_metrics_folder()
    mine = os.environ[FOLDER]
    assert mine != str(theirs) and (theirs / "histogram_9.db").exists()
    discard()
    assert theirs.exists() and not os.path.exists(mine)


def test_an_operators_folder_is_emptied_of_a_past_run_and_kept(
    clean_env, monkeypatch, tmp_path
):
    (tmp_path / "counter_1.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("theirs")
    monkeypatch.setenv(FOLDER, str(tmp_path))
    cli.prepare_metrics_folder()()
    assert not (tmp_path / "counter_1.db").exists()
    assert (tmp_path / "notes.txt").exists()


def test_metrics_credentials_are_checked_one_hash_at_a_time(monkeypatch):
    import base64

    monkeypatch.setattr("gateway.auth.HASH_WAIT_SECONDS", 0.01)
    scrape = Metrics({"prom": hash_password("right", iterations=1000)})
    header = "Basic " + base64.b64encode(b"prom:guess").decode()
    assert scrape.passwords is not None
    scrape.passwords._hashing.acquire()  # another guess is being hashed
    try:
        with pytest.raises(Busy):
            scrape._authenticate(header)
    finally:
        scrape.passwords._hashing.release()
    with pytest.raises(Unauthorized):
        scrape._authenticate(header)
    scrape._authenticate("Basic " + base64.b64encode(b"prom:right").decode())


def test_counting_switched_off_counts_no_job_nor_store_error():
    def jobs() -> float:
        return (
            REGISTRY.get_sample_value("cimi_gateway_jobs_total", {"status": "X"}) or 0
        )

    metrics.configure(enabled=False)
    try:
        metrics.job_counted("X")
        metrics.store_failed()
        assert jobs() == 0
    finally:
        metrics.configure(enabled=True)
    metrics.job_counted("X")
    assert jobs() == 1


def test_a_sqlite_file_too_busy_to_check_at_start_does_not_stop_a_worker(
    tmp_path, monkeypatch, caplog
):
    url = url_for_path(str(tmp_path / "s.sqlite3"))
    Store(url).close()  # migrated, as 'serve' does before any worker

    def busy(target):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr("gateway.migrations.upgrade", busy)
    store = Store(url)
    try:
        assert store.add("ns", "kind", "id", {"a": 1})
        assert store.get("ns", "kind", "id") == {"a": 1}
    finally:
        store.close()
    assert "schema not checked now" in caplog.text
