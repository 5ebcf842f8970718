"""The CIMI query language on every collection, as a client sees it over HTTP."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.resources.conftest import AUTH

JSON = {**AUTH, "Accept": "application/json"}
NS = {"c": "http://schemas.dmtf.org/cimi/1"}
HOST = "http://falconframework.org"


def get(client, path: str, query: str, headers=JSON):
    return client.simulate_get(path, query_string=query, headers=headers)


def ids(body: dict, key: str) -> list[str]:
    return [member["id"].rsplit("/", 1)[1] for member in body[key]]


def test_deltacloud_s_own_filter_cases_on_the_same_mock_data(mock_client):
    # server/tests/cimi/collections/machines_test.rb
    one = get(mock_client, "/cimi/machines", "$filter=name='MockUserInstance'").json
    others = get(mock_client, "/cimi/machines", "$filter=name!='MockUserInstance'").json

    assert (one["count"], ids(one, "machines")) == (1, ["inst1"])
    assert others["count"] == 3  # inst3 has no name: it is not 'MockUserInstance'
    assert "inst1" not in ids(others, "machines")


def test_count_is_what_matched_and_pages_come_after_filter_and_order(mock_client):
    body = get(
        mock_client,
        "/cimi/machines",
        "$filter=state='STARTED' and not(name='AnotherInstance')"
        "&$orderby=name:desc&$first=2&$last=3",
    ).json

    assert body["count"] == 3  # inst0, inst1, inst3 matched
    # name descending, the machine without a name last: inst1, inst0, inst3
    assert ids(body, "machines") == ["inst0", "inst3"]


def test_several_order_keys_and_filters(mock_client):
    body = get(
        mock_client,
        "/cimi/machine_images",
        "$filter=state='AVAILABLE'&$filter=name!='img2'&$orderby=state,name:desc",
    ).json
    assert ids(body, "machineImages") == ["img3", "img1"]
    assert body["count"] == 2


def test_select_keeps_the_id_and_what_was_named(mock_client):
    body = get(mock_client, "/cimi/machines", "$select=name&$select=state").json
    member = body["machines"][1]

    assert set(member) == {"id", "name", "state"}
    assert body["resourceURI"].endswith("MachineCollection")
    assert body["count"] == 4
    everything = get(mock_client, "/cimi/machines", "$select=*").json["machines"][1]
    assert {"cpu", "memory", "operations"} <= set(everything)


def test_select_in_xml_and_on_one_resource(mock_client):
    answer = get(mock_client, "/cimi/machines/inst1", "$select=name,cpu", headers=AUTH)
    root = etree.fromstring(answer.content)
    children = [etree.QName(child).localname for child in root]

    assert answer.status_code == 200
    assert children == ["id", "name", "cpu"]


@pytest.fixture
def template(mock_client) -> str:
    answer = mock_client.simulate_post(
        "/cimi/machine_templates",
        headers={**JSON, "Content-Type": "application/json"},
        json={
            "name": "small",
            "machineConfig": {"href": f"{HOST}/cimi/machine_configurations/m1-small"},
            "machineImage": {"href": f"{HOST}/cimi/machine_images/img1"},
        },
    )
    assert answer.status_code == 201
    return answer.headers["Location"]


def test_expand_inlines_a_templates_references_one_level(mock_client, template):
    body = get(mock_client, "/cimi/machine_templates", "$expand=machineConfig").json
    member = body["machineTemplates"][0]

    assert member["machineConfig"]["href"].endswith("/machine_configurations/m1-small")
    assert member["machineConfig"]["cpu"] == 1
    assert member["machineImage"] == {"href": f"{HOST}/cimi/machine_images/img1"}

    everything = get(mock_client, template.removeprefix(HOST), "$expand=*").json
    assert everything["machineImage"]["name"] == "img1"
    assert everything["machineImage"]["state"] == "AVAILABLE"


def test_expand_in_xml_writes_the_resource_inside_the_reference(mock_client, template):
    answer = get(
        mock_client,
        "/cimi/machine_templates",
        "$expand=machineImage&$select=machineImage",
        headers=AUTH,
    )
    root = etree.fromstring(answer.content)
    image = root.find("c:MachineTemplate/c:machineImage", NS)

    assert image.get("href") == f"{HOST}/cimi/machine_images/img1"
    assert image.findtext("c:name", namespaces=NS) == "img1"
    assert root.find("c:MachineTemplate/c:machineConfig", NS) is None


def test_expand_inlines_a_jobs_target(mock_client):
    stop = mock_client.simulate_post(
        "/cimi/machines/inst1/stop",
        headers={**JSON, "Content-Type": "application/json"},
        json={"action": "http://schemas.dmtf.org/cimi/1/action/stop"},
    )
    assert stop.status_code == 202

    body = get(mock_client, "/cimi/jobs", "$expand=targetResource").json
    target = body["jobs"][0]["targetResource"]

    assert target["href"] == f"{HOST}/cimi/machines/inst1"
    assert target["name"] == "MockUserInstance"
    assert "state" in target


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/cimi/machines", "machines"),
        ("/cimi/machine_images", "machineImages"),
        ("/cimi/machine_configurations", "machineConfigurations"),
        ("/cimi/machine_templates", "machineTemplates"),
        ("/cimi/jobs", "jobs"),
    ],
)
def test_every_collection_filters_orders_and_pages(mock_client, template, path, key):
    mock_client.simulate_post(  # a job, so /jobs has a member
        "/cimi/machines/inst1/stop",
        headers={**JSON, "Content-Type": "application/json"},
        json={"action": "http://schemas.dmtf.org/cimi/1/action/stop"},
    )
    everything = get(mock_client, path, "").json
    first = everything[key][0]["id"]

    matched = get(mock_client, path, f"$filter=id='{first}'").json
    assert (matched["count"], [m["id"] for m in matched[key]]) == (1, [first])
    none = get(mock_client, path, f"$filter=id='{first}' and id!='{first}'").json
    assert (none["count"], none[key]) == (0, [])
    ordered = get(mock_client, path, "$orderby=id:desc&$last=1").json
    assert ordered["count"] == everything["count"]
    assert ordered[key][0]["id"] == max(m["id"] for m in everything[key])


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (
            "$filter=colour='red'",
            "$filter: at position 1: Machine has no attribute 'colour'",
        ),
        ("$filter=cpu>'2'", "$filter: at position 5: 'cpu' is an integer"),
        ("$filter=", "$filter: empty"),
        ("$filter=name='x' or", "$filter: at position 12: expected an attribute"),
        ("$orderby=name:sideways", "$orderby: 'sideways' is not a direction"),
        ("$orderby=colour", "$orderby: Machine has no attribute 'colour'"),
        ("$orderby=operations", "$orderby: 'operations' cannot be ordered by"),
        ("$orderby=name,,cpu", "$orderby: an empty name"),
        ("$select=colour", "$select: Machine has no attribute 'colour'"),
        ("$expand=name", "$expand: 'name' is not a reference"),
        ("$first=0", "$first must be a positive integer"),
        ("$first=2&$first=3", "$first is given 2 times"),
        ("$last=1&$first=2", "$last must not be before $first"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_token(mock_client, query, words):
    for headers, read in ((JSON, lambda r: r.json["message"]), (AUTH, _xml_message)):
        answer = get(mock_client, "/cimi/machines", query, headers=headers)
        assert answer.status_code == 400
        assert answer.headers["CIMI-Specification-Version"] == "1.0.1"
        assert words in read(answer), read(answer)


def _xml_message(answer) -> str:
    root = etree.fromstring(answer.content)
    assert root.tag == "error"
    return root.findtext("message")


def test_out_of_range_pages_are_empty_not_errors(mock_client):
    body = get(mock_client, "/cimi/machines", "$first=10&$last=20").json
    assert (body["count"], body["machines"]) == (4, [])
