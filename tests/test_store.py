"""The record store: namespaces apart, ids unique, seeding once."""

from __future__ import annotations

import threading

import pytest

from gateway.store import Store
from gateway.store import url_for_path


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(url_for_path(str(tmp_path / "nested" / "store.sqlite3")))


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


def test_seeding_happens_once_even_when_raced(tmp_path):
    url = url_for_path(str(tmp_path / "raced.sqlite3"))
    stores = [Store(url) for _ in range(4)]
    results: list[bool] = []

    def seed(store: Store) -> None:
        results.append(store.seed_once("ns", [("image", "img1", {})]))

    threads = [threading.Thread(target=seed, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, False, True]
    assert stores[0].seeded_at("ns") is not None
    stores[0].remove("ns", "image", "img1")
    assert not stores[1].seed_once("ns", [("image", "img1", {})])
    assert stores[2].list("ns", "image") == []


def test_replace_with_expected_is_a_compare_and_swap(store):
    store.add("ns", "k", "a", {"v": 1})
    seen = store.get("ns", "k", "a")

    assert store.replace("ns", "k", "a", {"v": 2}, expected=seen)
    # A second writer that read the same record loses, and must read again.
    assert not store.replace("ns", "k", "a", {"v": 3}, expected=seen)
    assert store.get("ns", "k", "a") == {"v": 2}


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
    """A page of 10,000 costs what a page of 1,000 does only if SQLite walks
    the (namespace, kind, seq) index to the page: no temp sort, no window."""
    from gateway.store import _PAGE

    sql = store._sql[_PAGE]
    params = ("ns", "image", "ns", "image", 50, 0)
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    details = " | ".join(row[-1] for row in plan)

    assert "ix_record_order" in details
    assert "TEMP B-TREE" not in details


def test_an_older_database_gets_the_order_index(tmp_path):
    url = url_for_path(str(tmp_path / "old.sqlite3"))
    Store(url).add("ns", "image", "a", {})
    with Store(url).engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_record_order")

    store = Store(url)

    with store.engine.connect() as conn:
        names = conn.exec_driver_sql("PRAGMA index_list(records)").all()
    assert "ix_record_order" in {row[1] for row in names}
    assert store.page("ns", "image", 0, 10) == ([{}], 1)
