"""The record store: namespaces apart, ids unique, seeding once.

Every test runs on SQLite and on a real PostgreSQL (the session's
``postgres_url`` server, a new schema each test, migrated first as an
operator would: ``cimi-gateway migrate``). The schema's own tests are in
``test_migrations.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from gateway.store import Store
from gateway.store import records
from tests.support.postgres import migrated
from tests.support.postgres import new_schema


@pytest.fixture
def store(open_store) -> Store:
    return open_store()


def race(count: int, act: Callable[[int], Any]) -> list[Any]:
    """Return what ``act(i)`` returned in each of ``count`` threads, started
    together; an exception in any of them is raised here."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait(timeout=30)
        return act(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [
            f.result(timeout=60) for f in [pool.submit(run, i) for i in range(count)]
        ]


def test_records_round_trip_in_insertion_order(store):
    assert store.add("ns", "image", "b", {"n": 1})
    assert store.add("ns", "image", "a", {"n": 2})

    assert store.list("ns", "image") == [{"n": 1}, {"n": 2}]
    assert store.get("ns", "image", "a") == {"n": 2}
    assert store.get("ns", "image", "zz") is None


def test_ids_are_unique_per_namespace_and_kind(store):
    assert store.add("ns", "image", "a", {})
    assert not store.add("ns", "image", "a", {"other": True})
    assert store.add("other-tenant", "image", "a", {})
    assert store.add("ns", "machine", "a", {})

    assert store.list("other-tenant", "machine") == []


def test_replace_and_remove(store):
    store.add("ns", "k", "a", {"v": 1})

    assert store.replace("ns", "k", "a", {"v": 2})
    assert store.get("ns", "k", "a") == {"v": 2}
    assert store.remove("ns", "k", "a")
    assert not store.remove("ns", "k", "a")
    assert not store.replace("ns", "k", "a", {})


def test_seeding_happens_once_even_when_raced(open_store):
    stores = [open_store() for _ in range(4)]

    results = race(4, lambda i: stores[i].seed_once("ns", [("image", "img1", {})]))

    assert sorted(results) == [False, False, False, True]
    assert stores[0].seeded_at("ns") is not None
    stores[0].remove("ns", "image", "img1")
    assert not stores[1].seed_once("ns", [("image", "img1", {})])
    assert stores[2].list("ns", "image") == []


def test_first_seen_is_one_utc_time_for_every_racer(open_store):
    stores = [open_store() for _ in range(4)]
    before = datetime.now(UTC)

    seen = race(8, lambda i: stores[i % 4].first_seen("mount:mock"))

    assert len(set(seen)) == 1
    # The PostgreSQL test server's zone is +12:45: a time handed back in
    # the session's zone, not UTC, shows here.
    assert seen[0].utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= seen[0] <= datetime.now(UTC)
    assert stores[3].first_seen("mount:mock") == seen[0]


def test_replace_with_expected_is_a_compare_and_swap(store):
    store.add("ns", "k", "a", {"v": 1})
    seen = store.get("ns", "k", "a")

    assert store.replace("ns", "k", "a", {"v": 2}, expected=seen)
    # A second writer that read the same record loses, and must read again.
    assert not store.replace("ns", "k", "a", {"v": 3}, expected=seen)
    assert store.get("ns", "k", "a") == {"v": 2}


def test_remove_with_expected_is_a_compare_and_swap(store):
    store.add("ns", "k", "a", {"v": 1})
    seen = store.get("ns", "k", "a")
    store.replace("ns", "k", "a", {"v": 2})

    assert not store.remove("ns", "k", "a", expected=seen)
    assert store.remove("ns", "k", "a", expected={"v": 2})
    assert store.get("ns", "k", "a") is None


def test_of_many_writers_of_one_record_one_wins_each_round(open_store):
    """Eight threads of two gateways read the same record, then each writes
    it back changed, expecting what it read: exactly one may land."""
    stores = [open_store(), open_store()]
    stores[0].add("ns", "job", "j", {"v": 0, "by": None})
    rounds, writers = 12, 8
    read_all = threading.Barrier(writers)

    def write(i: int) -> list[bool]:
        store, won = stores[i % 2], []
        for _ in range(rounds):
            seen = store.get("ns", "job", "j")
            read_all.wait(timeout=30)  # all read before any writes
            changed = {"v": seen["v"] + 1, "by": i}
            won.append(store.replace("ns", "job", "j", changed, expected=seen))
            read_all.wait(timeout=30)  # all wrote before any reads again
        return won

    results = race(writers, write)

    assert [sum(r[n] for r in results) for n in range(rounds)] == [1] * rounds
    assert stores[1].get("ns", "job", "j")["v"] == rounds


def test_of_a_delete_and_an_edit_from_one_read_one_wins(open_store):
    stores = [open_store(), open_store()]
    for n in range(10):
        stores[0].add("ns", "t", f"t{n}", {"v": n})
        seen = stores[1].get("ns", "t", f"t{n}")

        def act(i: int, n: int = n, seen: dict = seen) -> bool:
            if i == 0:
                return stores[0].remove("ns", "t", f"t{n}", expected=seen)
            return stores[1].replace("ns", "t", f"t{n}", {"v": -1}, expected=seen)

        removed, replaced = race(2, act)

        assert removed != replaced
        left = stores[0].get("ns", "t", f"t{n}")
        assert left == (None if removed else {"v": -1})


def test_of_many_adds_of_one_id_exactly_one_lands(open_store):
    stores = [open_store(), open_store()]
    for n in range(10):
        added = race(6, lambda i, n=n: stores[i % 2].add("ns", "k", f"x{n}", {"i": i}))

        assert sum(added) == 1
        assert stores[1].get("ns", "k", f"x{n}") == {"i": added.index(True)}


AWKWARD = {
    "z": "first key written, first key kept",
    "nul": "a\x00b",
    "surrogate": "\udc80",
    "text": 'é ü 漢字 🦆 "quoted" \\ \n\t',
    "numbers": [0.1, 1e300, -0.0, 2**63 - 1, -(2**63)],
    "nested": {"b": [True, False, None], "a": {}},
}


def test_awkward_text_round_trips_and_compares_exactly(store):
    """What PostgreSQL's text cannot hold raw (NUL, a lone surrogate) is
    stored, read back, and found equal by a compare-and-swap."""
    assert store.add("ns", "k", "a", AWKWARD)
    seen = store.get("ns", "k", "a")

    assert seen == AWKWARD
    assert list(seen) == list(AWKWARD)
    with store.engine.connect() as conn:
        stored = conn.execute(select(records.c.data)).scalar_one()
    assert stored == json.dumps(AWKWARD)
    assert store.replace("ns", "k", "a", {**seen, "z": "changed"}, expected=seen)
    assert store.remove("ns", "k", "a", expected={**AWKWARD, "z": "changed"})


def test_a_page_is_its_rows_and_the_kinds_count(store):
    for n in range(7):
        store.add("ns", "image", f"i{n}", {"n": n})
    store.add("ns", "machine", "m", {})
    store.add("other", "image", "x", {})

    assert store.page("ns", "image", 2, 3) == ([{"n": 2}, {"n": 3}, {"n": 4}], 7)
    assert store.page("ns", "image", 5, None) == ([{"n": 5}, {"n": 6}], 7)
    assert store.page("ns", "image", 9, 3) == ([], 7)
    assert store.page("ns", "volume", 0, 3) == ([], 0)


def test_a_page_reads_the_order_index_not_a_sort_of_the_kind(store):
    """A page of 10,000 costs what a page of 1,000 does only if the database
    walks the (namespace, kind, seq) index to the page: no sort, no window."""
    from gateway.store import _PAGE

    compiled = store._compiled[_PAGE]
    params = compiled.construct_params(
        {"ns_": "ns", "kind_": "image", "limit_": 50, "offset_": 0}
    )
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            values = tuple(params[name] for name in compiled.positiontup)
            explain = f"EXPLAIN QUERY PLAN {store._sql[_PAGE]}"
            plan = conn.exec_driver_sql(explain, values).all()
            details = " | ".join(row[-1] for row in plan)
            assert "TEMP B-TREE" not in details
        else:
            # On an empty table PostgreSQL would rightly scan it all.
            conn.exec_driver_sql("SET enable_seqscan = off")
            explain = f"EXPLAIN {store._sql[_PAGE]}"
            plan = conn.exec_driver_sql(explain, params).all()
            details = " | ".join(row[0] for row in plan)
            assert "Sort" not in details
    assert "ix_record_order" in details


def test_gateways_opening_a_new_database_at_once_all_open_it(open_store):
    stores = race(8, lambda i: open_store())

    assert race(8, lambda i: stores[i].add("ns", "k", "a", {})).count(True) == 1
    assert stores[0].list("ns", "k") == [{}]


def test_order_holds_past_32_bits_of_records(store):
    big = 2**31 - 2
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            # The next rowid is the largest one's successor.
            conn.execute(insert(records).values(store._row("ns", "k", "x", {})))
            conn.execute(records.update().values(seq=big))
        else:
            conn.exec_driver_sql(f"ALTER SEQUENCE records_seq_seq RESTART {big}")
            conn.execute(insert(records).values(store._row("ns", "k", "x", {})))

    for n in range(3):
        assert store.add("ns", "k", f"i{n}", {"n": n})

    assert store.list("ns", "k") == [{}, {"n": 0}, {"n": 1}, {"n": 2}]
    with store.engine.connect() as conn:
        last = conn.execute(select(func.max(records.c.seq))).scalar_one()
    assert last == big + 3


def test_a_dropped_postgresql_connection_costs_a_reconnect_not_a_call(
    postgres_url,
):
    store = Store(migrated(new_schema(postgres_url)))
    admin = create_engine(postgres_url, poolclass=NullPool)
    try:
        store.add("ns", "k", "a", {"v": 1})
        assert store.get("ns", "k", "a") == {"v": 1}
        # The server ends every session of the store's database, as a
        # restart or an idle timeout would.
        with admin.connect() as conn:
            ended = conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            ).all()
        assert ended

        assert store.get("ns", "k", "a") == {"v": 1}
        assert store.replace("ns", "k", "a", {"v": 2})
        assert store.list("ns", "k") == [{"v": 2}]
    finally:
        store.close()
        admin.dispose()
