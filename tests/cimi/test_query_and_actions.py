"""Paging parameters and lenient action URIs."""

from __future__ import annotations

import pytest

from gateway.cimi.errors import BadRequest
from gateway.cimi.query import Query
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import action_name

ITEMS = list("abcdef")


def page(first: str | None, last: str | None) -> slice:
    params = {"$first": [first] if first else [], "$last": [last] if last else []}
    return Query.parse(params, MACHINE).page


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, "abcdef"),
        ("2", "3", "bc"),
        ("5", None, "ef"),
        (None, "2", "ab"),
        ("6", "60", "f"),
        ("7", None, ""),
    ],
)
def test_first_and_last_are_one_based_and_inclusive(first, last, expected):
    assert "".join(ITEMS[page(first, last)]) == expected


@pytest.mark.parametrize(
    ("first", "last"), [("0", None), ("x", None), (None, "-1"), ("3", "2")]
)
def test_bad_pages_are_refused(first, last):
    with pytest.raises(BadRequest):
        page(first, last)


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("http://schemas.dmtf.org/cimi/1/action/stop", "stop"),
        ("  http://schemas.dmtf.org/cimi/1/action/start \n", "start"),
        ("http://http://schemas.dmtf.org/cimi/1/action/restart", "restart"),
        ("urn:x/action/capture", "capture"),
        ("stop", None),
        ("http://schemas.dmtf.org/cimi/1/action/", None),
        ("http://schemas.dmtf.org/cimi/1/stop", None),
        ("/action/stop", None),
    ],
)
def test_action_uris_are_read_leniently(uri, name):
    assert action_name(uri) == name
