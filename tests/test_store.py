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
