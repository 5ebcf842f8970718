"""Conditional requests: ETags, 304 on If-None-Match, 412 on a stale If-Match."""

from __future__ import annotations

import pytest

from tests.resources.conftest import AUTH
from tests.resources.conftest import unvalidated

JSON = {**AUTH, "Accept": "application/json"}
JSON_BODY = {**JSON, "Content-Type": "application/json"}
HOST = "http://falconframework.org"


@pytest.mark.parametrize(
    "path", ["/cimi/machines", "/cimi/machines/inst1", "/cimi/machine_images/img1"]
)
def test_a_read_of_what_the_client_holds_is_304(mock_client, path):
    first = mock_client.simulate_get(path, headers=AUTH)
    tag = first.headers["ETag"]

    again = mock_client.simulate_get(path, headers={**AUTH, "If-None-Match": tag})
    head = mock_client.simulate_head(path, headers={**AUTH, "If-None-Match": tag})
    weak = mock_client.simulate_get(path, headers={**AUTH, "If-None-Match": f"W/{tag}"})
    listed = mock_client.simulate_get(
        path, headers={**AUTH, "If-None-Match": f'"other", {tag}'}
    )
    other = mock_client.simulate_get(path, headers={**AUTH, "If-None-Match": '"x"'})

    assert first.headers["Vary"] == "Accept"
    for answer in (again, head, weak, listed):
        assert answer.status_code == 304
        assert answer.content == b""
        assert answer.headers["ETag"] == tag
        assert "Content-Type" not in answer.headers
    assert other.status_code == 200
    assert other.content == first.content


def test_a_changed_resource_is_read_whole_again(mock_client):
    tag = mock_client.simulate_get("/cimi/machines/inst1", headers=JSON).headers["ETag"]
    edit = mock_client.simulate_put(
        "/cimi/machines/inst1", headers=JSON_BODY, json={"name": "renamed"}
    )
    after = mock_client.simulate_get(
        "/cimi/machines/inst1", headers={**JSON, "If-None-Match": tag}
    )

    assert edit.status_code == 200
    assert after.status_code == 200
    assert after.json["name"] == "renamed"
    assert after.headers["ETag"] != tag


def test_xml_and_json_representations_have_their_own_tags(mock_client):
    xml = mock_client.simulate_get("/cimi/machines/inst1", headers=AUTH)
    json = mock_client.simulate_get("/cimi/machines/inst1", headers=JSON)
    assert xml.headers["ETag"] != json.headers["ETag"]


@pytest.fixture
def template(mock_client) -> str:
    answer = mock_client.simulate_post(
        "/cimi/machine_templates",
        headers=JSON_BODY,
        json={
            "name": "t",
            "machineConfig": {"href": f"{HOST}/cimi/machine_configurations/m1-small"},
            "machineImage": {"href": f"{HOST}/cimi/machine_images/img1"},
        },
    )
    assert answer.status_code == 201
    return answer.headers["Location"].removeprefix(HOST)


def test_if_match_makes_a_lost_update_impossible(mock_client, template):
    # Two clients read the same template; both edit from what they read.
    tag = mock_client.simulate_get(template, headers=JSON).headers["ETag"]

    first = mock_client.simulate_put(
        template, headers={**JSON_BODY, "If-Match": tag}, json={"name": "first"}
    )
    second = mock_client.simulate_put(
        template, headers={**JSON_BODY, "If-Match": tag}, json={"name": "second"}
    )
    now = mock_client.simulate_get(template, headers=JSON)

    assert first.status_code == 200
    assert second.status_code == 412
    assert second.json["code"] == 412
    assert "read it again" in second.json["message"]
    assert now.json["name"] == "first"
    assert now.headers["ETag"] == first.headers["ETag"]


def test_if_match_takes_the_xml_tag_or_the_json_tag(mock_client, template):
    xml_tag = mock_client.simulate_get(template, headers=AUTH).headers["ETag"]
    edit = mock_client.simulate_put(
        template, headers={**JSON_BODY, "If-Match": xml_tag}, json={"name": "x"}
    )
    assert edit.status_code == 200
    star = mock_client.simulate_put(
        template, headers={**JSON_BODY, "If-Match": "*"}, json={"name": "y"}
    )
    assert star.status_code == 200


def test_a_weak_tag_never_matches_if_match(mock_client, template):
    tag = mock_client.simulate_get(template, headers=JSON).headers["ETag"]
    edit = mock_client.simulate_put(
        template, headers={**JSON_BODY, "If-Match": f"W/{tag}"}, json={"name": "w"}
    )
    assert edit.status_code == 412


@pytest.mark.parametrize(
    "path",
    ["/cimi/machines/inst1", "/cimi/machine_images/img1", "template"],
)
def test_a_stale_delete_deletes_nothing(mock_client, template, path):
    path = template if path == "template" else path

    stale = mock_client.simulate_delete(path, headers={**JSON, "If-Match": '"stale"'})
    still = mock_client.simulate_get(path, headers=JSON)
    tag = still.headers["ETag"]
    # (a DELETE's bare 200 has no Content-Type, which wsgiref.validate minds)
    status, _, _ = unvalidated(mock_client, "DELETE", path, {**JSON, "If-Match": tag})

    assert stale.status_code == 412
    assert still.status_code == 200
    assert status in ("200 OK", "202 Accepted")


def test_a_stale_machine_edit_edits_nothing(mock_client):
    stale = mock_client.simulate_put(
        "/cimi/machines/inst1",
        headers={**JSON_BODY, "If-Match": '"stale"'},
        json={"name": "never"},
    )
    machine = mock_client.simulate_get("/cimi/machines/inst1", headers=JSON).json

    assert stale.status_code == 412
    assert machine["name"] == "MockUserInstance"


def test_losing_the_race_after_the_check_is_412_with_if_match_409_without(
    mock_client, template, monkeypatch
):
    from gateway.store import Store

    tag = mock_client.simulate_get(template, headers=JSON).headers["ETag"]
    # Another worker writes between this one's check and its write.
    monkeypatch.setattr(Store, "replace", lambda *args, **kwargs: False)

    checked = mock_client.simulate_put(
        template, headers={**JSON_BODY, "If-Match": tag}, json={"name": "a"}
    )
    unchecked = mock_client.simulate_put(
        template, headers=JSON_BODY, json={"name": "b"}
    )

    assert checked.status_code == 412
    assert unchecked.status_code == 409
