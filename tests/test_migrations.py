"""The store's schema through Alembic: made, stamped, checked, raced.

Each test runs on SQLite and on a real PostgreSQL (the session's
``postgres_url`` server, a new empty schema each test); the command-line
tests run the venv's installed ``cimi-gateway``, as an operator would.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateTable

from gateway import migrations
from gateway.migrations import SchemaAhead
from gateway.migrations import SchemaBehind
from gateway.store import Store
from gateway.store import metadata
from gateway.store import records
from gateway.store import url_for_path
from tests.e2e.gunicorn import CLI
from tests.e2e.gunicorn import Gateway
from tests.e2e.gunicorn import free_port
from tests.support.postgres import new_schema

REPO = Path(__file__).resolve().parents[1]
FUTURE = "ffff_from_a_newer_gateway"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> str:
    """Return the URL of an empty database (no tables), of each backend."""
    if request.param == "sqlite":
        return url_for_path(str(tmp_path / "db" / "store.sqlite3"))
    return new_schema(request.getfixturevalue("postgres_url"))


@pytest.fixture
def pg_url(postgres_url) -> str:
    """Return the URL of an empty PostgreSQL schema."""
    return new_schema(postgres_url)


def engine_for(url: str) -> Any:
    """Return an engine of the test's own, beside the gateway's."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(exist_ok=True)
    return create_engine(url, poolclass=NullPool)


def schema_diff(url: str) -> list:
    """Return what Alembic finds between the database and the store's model."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def make_legacy(url: str, *, with_index: bool = True) -> None:
    """Make the table as gateways before migrations did, with one record."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(CreateTable(records, if_not_exists=True))
            if with_index:
                for index in records.indexes:
                    index.create(conn)
            conn.execute(insert(records).values(Store._row("ns", "k", "a", {"n": 1})))
    finally:
        engine.dispose()


def stamp_directly(url: str, revision: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
            )
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def test_a_fresh_database_gets_exactly_the_schema_the_store_queries(fresh_url):
    done = migrations.upgrade(fresh_url)

    assert (done.before, done.after, done.stamped) == (None, migrations.head(), False)
    assert done.line() == f"store: {where(fresh_url)} upgraded from none to 0001"
    assert schema_diff(fresh_url) == []
    assert migrations.current(fresh_url) == migrations.check(fresh_url) == "0001"


def test_the_schema_comparison_sees_a_missing_index(fresh_url):
    migrations.upgrade(fresh_url)
    engine = engine_for(fresh_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_record_order")
    engine.dispose()

    assert [diff[0] for diff in schema_diff(fresh_url)] == ["add_index"]


def test_upgrading_an_up_to_date_database_changes_nothing(fresh_url):
    migrations.upgrade(fresh_url)
    Store(fresh_url).add("ns", "k", "a", {})

    done = migrations.upgrade(fresh_url)

    assert (done.before, done.after, done.stamped) == ("0001", "0001", False)
    assert done.line() == f"store: {where(fresh_url)} is up to date at 0001"
    assert Store(fresh_url).list("ns", "k") == [{}]


def test_a_database_made_before_migrations_is_stamped_and_keeps_its_records(
    fresh_url,
):
    make_legacy(fresh_url)

    # Checking it changes nothing: it counts as the baseline, unstamped.
    assert migrations.check(fresh_url) == migrations.BASELINE
    assert "alembic_version" not in tables(fresh_url)

    done = migrations.upgrade(fresh_url)

    assert (done.before, done.after, done.stamped) == ("0001", "0001", True)
    assert done.line() == (
        f"store: {where(fresh_url)} was made before migrations: stamped 0001"
    )
    engine = engine_for(fresh_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("0001",)
        ]
    engine.dispose()
    assert Store(fresh_url).get("ns", "k", "a") == {"n": 1}
    assert schema_diff(fresh_url) == []
    assert migrations.upgrade(fresh_url).stamped is False


def test_a_database_made_before_the_order_index_gets_it(fresh_url):
    make_legacy(fresh_url, with_index=False)

    migrations.upgrade(fresh_url)

    engine = engine_for(fresh_url)
    names = {index["name"] for index in inspect(engine).get_indexes("records")}
    engine.dispose()
    assert "ix_record_order" in names
    assert Store(fresh_url).page("ns", "k", 0, 10) == ([{"n": 1}], 1)


def test_an_empty_database_is_behind_and_the_check_names_the_command(fresh_url):
    with pytest.raises(SchemaBehind) as caught:
        migrations.check(fresh_url)

    assert str(caught.value) == (
        f"{where(fresh_url)} is at revision none, this gateway needs 0001: "
        "run 'cimi-gateway migrate'"
    )
    password = make_url(fresh_url).password
    assert password is None or password not in str(caught.value)
    assert tables(fresh_url) == set()


def test_a_database_at_a_revision_this_code_does_not_know_is_refused(fresh_url):
    migrations.upgrade(fresh_url)
    stamp_directly(fresh_url, FUTURE)

    for attempt in (migrations.check, migrations.upgrade):
        with pytest.raises(SchemaAhead, match=f"is at revision {FUTURE}, which"):
            attempt(fresh_url)
    if fresh_url.startswith("sqlite"):
        with pytest.raises(SchemaAhead):
            Store(fresh_url)


def test_downgrade_to_base_removes_the_table_and_upgrade_makes_it_again(fresh_url):
    migrations.upgrade(fresh_url)
    engine = engine_for(fresh_url)
    with engine.begin() as conn:
        alembic_config = migrations.config()
        alembic_config.attributes["connection"] = conn
        command.downgrade(alembic_config, "base")
    engine.dispose()

    assert "records" not in tables(fresh_url)
    assert migrations.current(fresh_url) is None
    assert migrations.upgrade(fresh_url).before is None
    assert schema_diff(fresh_url) == []


def test_a_postgresql_store_makes_no_table_of_its_own(pg_url):
    Store(pg_url).close()

    assert tables(pg_url) == set()


def _upgrade_when_all_are_ready(url: str, barrier: Any, results: Any) -> None:
    """In a child process: wait for the others, then upgrade."""
    barrier.wait(timeout=120)
    try:
        results.put(("ok", migrations.upgrade(url).before))
    except Exception as ex:  # reported to the test, which fails on it
        results.put(("error", repr(ex)))


def test_processes_racing_to_upgrade_a_fresh_database_all_succeed_once(fresh_url):
    count = 4
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    children = [
        context.Process(
            target=_upgrade_when_all_are_ready, args=(fresh_url, barrier, results)
        )
        for _ in range(count)
    ]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=120) for _ in children]
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)

    assert sorted(outcomes, key=str) == [("ok", "0001")] * (count - 1) + [("ok", None)]
    assert schema_diff(fresh_url) == []


def test_threads_racing_to_upgrade_a_fresh_database_all_succeed_once(fresh_url):
    count = 8
    barrier = threading.Barrier(count)

    def upgrade(_: int) -> str | None:
        barrier.wait(timeout=30)
        return migrations.upgrade(fresh_url).before

    with ThreadPoolExecutor(max_workers=count) as pool:
        befores = [
            f.result(timeout=60)
            for f in [pool.submit(upgrade, i) for i in range(count)]
        ]

    assert sorted(befores, key=str) == ["0001"] * (count - 1) + [None]
    assert schema_diff(fresh_url) == []


def write_config(folder: Path, url: str) -> Path:
    path = folder / "gateway.toml"
    path.write_text(
        f"""
[store]
url = "{url}"

[providers.mock]
driver = "mock"
mount = "/cimi"
delay = 0
"""
    )
    return path


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the installed ``cimi-gateway``; one that serves instead of
    stopping is killed (its process group: it and any workers) and fails."""
    process = subprocess.Popen(
        [str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"cimi-gateway {args[0]} did not exit: {out} {err}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_migrate_says_what_it_did_in_one_line_and_again_changes_nothing(
    fresh_url, tmp_path
):
    config = write_config(tmp_path, fresh_url)

    first = cli("migrate", "--config", str(config))
    again = cli("migrate", "--config", str(config))

    assert (first.returncode, first.stderr) == (0, ""), first.stderr
    assert first.stdout == f"store: {where(fresh_url)} upgraded from none to 0001\n"
    assert (again.returncode, again.stderr) == (0, ""), again.stderr
    assert again.stdout == f"store: {where(fresh_url)} is up to date at 0001\n"
    password = make_url(fresh_url).password
    assert password is None or password not in first.stdout + again.stdout
    assert schema_diff(fresh_url) == []


def test_serving_an_unmigrated_postgresql_stops_before_gunicorn(pg_url, tmp_path):
    config = write_config(tmp_path, pg_url)

    result = cli("serve", "--config", str(config), "--bind", f"127.0.0.1:{free_port()}")

    assert result.returncode == 2
    assert result.stderr == (
        f"cimi-gateway: config error: store: {where(pg_url)} is at revision none, "
        "this gateway needs 0001: run 'cimi-gateway migrate'\n"
    )
    assert make_url(pg_url).password not in result.stderr
    assert tables(pg_url) == set()


def test_plain_gunicorn_on_an_unmigrated_postgresql_stops_with_the_same_line(
    pg_url, tmp_path
):
    config = write_config(tmp_path, pg_url)
    gunicorn = Path(sys.executable).parent / "gunicorn"

    result = subprocess.run(
        [str(gunicorn), "-c", str(REPO / "config" / "gunicorn.conf.py")],
        env={**os.environ, "CIMI_GATEWAY_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"cimi-gateway: config error: store: {where(pg_url)} is at revision none, "
        "this gateway needs 0001: run 'cimi-gateway migrate'"
    ]


def test_serving_a_store_at_an_unknown_revision_stops_with_one_line(
    fresh_url, tmp_path
):
    migrations.upgrade(fresh_url)
    stamp_directly(fresh_url, FUTURE)
    config = write_config(tmp_path, fresh_url)

    result = cli("serve", "--config", str(config), "--bind", f"127.0.0.1:{free_port()}")

    assert result.returncode == 2
    assert result.stderr == (
        f"cimi-gateway: config error: store: {where(fresh_url)} is at revision "
        f"{FUTURE}, which this gateway does not know (it needs 0001): run the "
        "gateway version that migrated it\n"
    )


def test_a_migrated_postgresql_store_serves(pg_url, tmp_path):
    config = write_config(tmp_path, pg_url)
    assert cli("migrate", "--config", str(config)).returncode == 0
    gateway = Gateway(config, workers=2).start()
    try:
        answer = requests.get(
            f"{gateway.url}/cimi/machines",
            auth=("mockuser", "mockpassword"),
            headers={"Accept": "application/json"},
            timeout=10,
        )
    finally:
        gateway.stop()

    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] > 0
    engine = engine_for(pg_url)
    with engine.connect() as conn:
        assert conn.execute(select(records.c.kind).limit(1)).first() is not None
    engine.dispose()


def test_the_built_wheel_ships_the_migrations(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps"]
        + ["-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("cimi_gateway-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())

    shipped = [
        f"gateway/migrations/{name}"
        for name in ("__init__.py", "env.py", "script.py.mako")
    ] + [
        f"gateway/migrations/versions/{p.name}"
        for p in (migrations.FOLDER / "versions").glob("*.py")
    ]
    assert set(shipped) <= names


def test_head_names_the_newest_revision_shipped():
    # The fast path reads no revision files: HEAD must follow versions/.
    assert migrations.head() == migrations._scripts().get_current_head()
