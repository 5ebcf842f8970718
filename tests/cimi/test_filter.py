"""``$filter``: the grammar, its typing by schema, and the answers it gives."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from gateway.cimi import filter as cimi_filter
from gateway.cimi.errors import BadRequest
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_TEMPLATE

MACHINES = [
    {
        "id": "http://h/cimi/machines/inst0",
        "name": "alpha",
        "state": "STARTED",
        "cpu": 1,
        "created": datetime(2012, 5, 1, 12, 0, tzinfo=UTC),
        "property": {"env": "prod", "team": "a"},
    },
    {
        "id": "http://h/cimi/machines/inst1",
        "name": "beta",
        "state": "STOPPED",
        "cpu": 4,
        "created": datetime(2013, 1, 1, tzinfo=UTC),
        "property": {"env": "test"},
    },
    {
        "id": "http://h/cimi/machines/inst2",
        "name": "",
        "state": "STARTED",
        "cpu": 2,
        "created": datetime(2014, 7, 9, 8, 30, tzinfo=UTC),
    },
]


def matching(text: str, rtype=MACHINE, members=MACHINES) -> list[str]:
    predicate = cimi_filter.parse([text], rtype)
    return [m["id"].rsplit("/", 1)[1] for m in members if predicate(m)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name='alpha'", ["inst0"]),
        ('name="beta"', ["inst1"]),
        ("'alpha'=name", ["inst0"]),
        ("name!='alpha'", ["inst1", "inst2"]),  # an empty name is not 'alpha'
        ("cpu>1", ["inst1", "inst2"]),
        ("2<=cpu", ["inst1", "inst2"]),  # value first: the operator flips
        ("cpu<2 or cpu>=4", ["inst0", "inst1"]),
        ("cpu=1 and state='STARTED'", ["inst0"]),
        # `and` binds tighter than `or`
        ("cpu=4 and state='STARTED' or name='alpha'", ["inst0"]),
        ("cpu=4 and (state='STARTED' or name='beta')", ["inst1"]),
        ("(cpu=1)and(state='STARTED')", ["inst0"]),
        ("name^='al'", ["inst0"]),
        ("not(name^='al')", ["inst1", "inst2"]),
        ("not(not(cpu=2))", ["inst2"]),
        ("name=null", ["inst2"]),
        ("name!=null", ["inst0", "inst1"]),
        ("created>2013-01-01", ["inst2"]),
        ("created>=2013-01-01", ["inst1", "inst2"]),
        ("created<=2012-05-01T13:00:00+01:00", ["inst0"]),  # instants, zones kept
        ("created<'2013-01-01T00:00:00Z'", ["inst0"]),  # a quoted date
        ("created=2012-05-01T12:00:00Z", ["inst0"]),
        ("property['env']='prod'", ["inst0"]),
        ("property[\"env\"]!='prod'", ["inst1", "inst2"]),
        ("property['team']=null", ["inst1", "inst2"]),
        ("property['env']>'q'", ["inst1"]),
        ("id='http://h/cimi/machines/inst1'", ["inst1"]),
        ("name='al\\'pha'", []),
        ("state='STOPPED' or state='STOPPED'", ["inst1"]),
    ],
)
def test_filters_keep_what_they_say(text, expected):
    assert matching(text) == expected


def test_strings_unescape_backslashes():
    members = [{"id": "x/1", "name": "it's"}, {"id": "x/2", "name": "a\\b"}]
    assert matching("name='it\\'s'", members=members) == ["1"]
    assert matching('name="a\\\\b"', members=members) == ["2"]


def test_several_filters_are_and_ed():
    predicate = cimi_filter.parse(["state='STARTED'", "cpu>1 or name='beta'"], MACHINE)
    assert [m["name"] for m in MACHINES if predicate(m)] == [""]


def test_booleans_and_references_compare():
    jobs = [
        {"id": "j/1", "isCancellable": False, "targetResource": "http://h/m/1"},
        {"id": "j/2", "isCancellable": True},
    ]
    assert matching("isCancellable=true", JOB, jobs) == ["2"]
    assert matching("isCancellable!=true", JOB, jobs) == ["1"]
    assert matching("targetResource='http://h/m/1'", JOB, jobs) == ["1"]
    assert matching("targetResource^='http://h/'", JOB, jobs) == ["1"]
    templates = [
        {"id": "t/1", "machineConfig": {"href": "http://h/c/small"}},
        {"id": "t/2", "machineConfig": {"cpu": 1}},  # by value: no href
    ]
    assert matching(
        "machineConfig='http://h/c/small'", MACHINE_TEMPLATE, templates
    ) == ["1"]
    assert matching("machineConfig=null", MACHINE_TEMPLATE, templates) == ["2"]


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("bogus='x'", 1, "no attribute 'bogus'"),
        ("name='x' and colour='red'", 14, "no attribute 'colour'"),
        ("cpu='4'", 5, "'cpu' is an integer"),
        ("name=4", 6, "'name' is a quoted string"),
        ("created>4", 9, "'created' is a date"),
        ("created>2012-13-45", 9, "is not a date"),
        ("state='RUNNING'", 7, "'state' is one of"),
        ("isCancellable>true", 14, "'>' does not apply"),
        ("cpu^=1", 4, "'^=' does not apply"),
        ("cpu>null", 4, "null takes = or !="),
        ("'a'^=name", 4, "'^=' takes the attribute first"),
        ("name='a", 6, "a string is not closed"),
        ("name='a' and", 13, "expected an attribute or a value, found the end"),
        ("name='a' nand cpu=1", 10, "expected 'and', 'or' or the end"),
        ("(name='a'", 10, "expected ')'"),
        ("name='a')", 9, "expected 'and', 'or' or the end"),
        ("name 'a'", 6, "expected an operator"),
        ("name=='a'", 6, "expected an attribute or a value"),
        ("1=1", 2, "compares two values"),
        ("name=cpu", 5, "compares two attributes"),
        ("property['k']=4", 15, "'properties' is a quoted string"),
        ("property[k]='4'", 10, "expected a quoted property key"),
        ("properties='x'", 1, "property['key']"),
        ("operations='x'", 1, "cannot be filtered on"),
        ("name='a' AND cpu=1", 10, "expected 'and', 'or' or the end"),
        ("cpu=\u0663", 5, "unexpected '\u0663'"),  # ASCII digits only
        ("not name='a'", 5, "expected '('"),
        ("cpu>" + "9" * 5000, 5, "out of range"),  # int() would raise: a 500
    ],
)
def test_bad_filters_name_the_token_and_its_position(text, position, words):
    with pytest.raises(BadRequest) as raised:
        cimi_filter.parse([text], MACHINE if "isCancellable" not in text else JOB)
    message = raised.value.message
    assert message.startswith(f"$filter: at position {position}: "), message
    assert words in message


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_filter_is_refused(text):
    with pytest.raises(BadRequest, match="empty"):
        cimi_filter.parse([text], MACHINE)


def test_nesting_is_bounded_not_a_recursion_error():
    deep = "(" * 65 + "cpu=1" + ")" * 65
    with pytest.raises(BadRequest, match="nested deeper than 64"):
        cimi_filter.parse([deep], MACHINE)
    assert matching("(" * 64 + "cpu=1" + ")" * 64) == ["inst0"]


def test_a_thousand_terms_parse_flat():
    # Loops, not recursion: a long filter neither overflows nor nests.
    text = " or ".join(f"cpu={n} and name!='x{n}'" for n in range(1000))
    predicate = cimi_filter.parse([text], MACHINE)
    assert isinstance(predicate, cimi_filter.AnyOf)
    assert len(predicate.terms) == 1000
    assert [m["cpu"] for m in MACHINES if predicate(m)] == [1, 4, 2]


def test_tokens_carry_one_based_positions():
    found = [(t.kind, t.text, t.pos) for t in cimi_filter.tokens("a>=2012-01-02 or")]
    assert found == [
        ("name", "a", 1),
        ("op", ">=", 2),
        ("date", "2012-01-02", 4),
        ("name", "or", 15),
        ("end", "", 17),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state='STOPPED'", {"state": {"STOPPED"}}),
        ("state='STOPPED' and name='a'", {"state": {"STOPPED"}, "name": {"a"}}),
        (
            "(state='STOPPED' or state='STARTED') and cpu>1",
            {"state": {"STOPPED", "STARTED"}},
        ),
        ("state='STOPPED' and state='STARTED'", {"state": set()}),  # nothing matches
        ("state='STOPPED' or name='a'", {}),  # either: nothing certain
        ("state!='STOPPED'", {}),
        ("not(state='STOPPED')", {}),
        ("property['k']='v'", {}),
        ("name=null", {}),
        ("'x'=name", {"name": {"x"}}),
    ],
)
def test_what_a_filter_makes_certain_can_narrow_a_cloud_listing(text, expected):
    found = cimi_filter.required_values(cimi_filter.parse([text], MACHINE))
    assert {k: set(v) for k, v in found.items()} == expected
