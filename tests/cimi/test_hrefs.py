"""Resolving the hrefs a client sends back to local ids."""

from __future__ import annotations

import pytest

from gateway.cimi.hrefs import local_id

BASE = "http://h:8000/cimi/"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        pytest.param("http://h:8000/cimi/machines/inst1", "inst1", id="absolute"),
        pytest.param("http://H:8000/cimi/machines/inst1", "inst1", id="host-case"),
        pytest.param("http://other:8000/cimi/machines/inst1", None, id="other-host"),
        pytest.param("http://h:9000/cimi/machines/inst1", None, id="other-port"),
        pytest.param("http://h:8000/other/machines/inst1", None, id="other-mount"),
        pytest.param("machines/inst1", "inst1", id="relative"),
        pytest.param("/cimi/machines/inst1", "inst1", id="absolute-path"),
        pytest.param("//h:8000/cimi/machines/inst1", "inst1", id="scheme-relative"),
        pytest.param("machines/./inst1", "inst1", id="dot-segment"),
        pytest.param("inst1", "inst1", id="bare-id"),
        pytest.param("i-0123456789abcdef0", "i-0123456789abcdef0", id="bare-ec2-id"),
        pytest.param(
            "http://h:8000/cimi/machine_images/img1", None, id="other-collection"
        ),
        pytest.param("machine_images/img1", None, id="other-collection-relative"),
        pytest.param("machinesX/inst1", None, id="collection-prefix"),
        pytest.param("../machines/inst1", None, id="above-base"),
        pytest.param("machines/inst1/extra", None, id="sub-path"),
        pytest.param("machines/inst1/", None, id="trailing-slash"),
        pytest.param("machines/", None, id="collection-itself"),
        pytest.param("http://h:8000/cimi/machines/inst1?x=1", None, id="query"),
        pytest.param("machines/inst1?x=1", None, id="query-relative"),
        pytest.param("http://h:8000/cimi/machines/inst%201", "inst 1", id="percent"),
        pytest.param("machines/caf%C3%A9", "café", id="percent-utf8"),
        pytest.param("", None, id="empty"),
        pytest.param("urn:uuid:1234", None, id="urn"),
        pytest.param("mock://img1", None, id="other-scheme"),
    ],
)
def test_local_id(href: str, expected: str | None) -> None:
    assert local_id(href, base_uri=BASE, collection="machines") == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        pytest.param("http://localhost:3001/cimi/machines/inst1", "inst1", id="seed"),
        pytest.param(
            "http://localhost:3001/cimi/machine_images/img1", None, id="image"
        ),
    ],
)
def test_local_id_of_the_seed_capture_location(href: str, expected: str | None) -> None:
    base = "http://localhost:3001/cimi/"
    assert local_id(href, base_uri=base, collection="machines") == expected


@pytest.mark.parametrize(
    "href",
    [
        pytest.param("inst1?x=1", id="query"),
        pytest.param("inst1#frag", id="fragment"),
    ],
)
def test_bare_id_with_a_query_or_fragment_is_not_an_id(href: str) -> None:
    # BUG(tests): a href with neither "/" nor ":" is returned whole as a bare
    # id, so local_id("inst1?x=1", base_uri="http://h:8000/cimi/",
    # collection="machines") returns "inst1?x=1" (expected None, as for
    # "machines/inst1?x=1"); likewise "inst1#frag" returns "inst1#frag".
    assert local_id(href, base_uri=BASE, collection="machines") is None
