"""Inputs that used to answer 500, or were stored and then broke every listing.

Each case is one reproduction of issue 6, in-process against the mock cloud:
the answer is a 4xx CIMI error document and nothing is left stored.
"""

from __future__ import annotations

import json

import pytest
from lxml import etree

from tests.resources.conftest import AUTH
from tests.resources.conftest import unvalidated

JSON = {**AUTH, "Accept": "application/json", "Content-Type": "application/json"}
BASE = "http://falconframework.org/cimi"
CONFIG = {"href": f"{BASE}/machine_configurations/m1-small"}
IMAGE = {"href": f"{BASE}/machine_images/img1"}


def assert_error(response, status: int) -> dict:
    """Assert a CIMI error document of ``status`` in the media type answered."""
    assert response.status_code == status, response.text
    assert response.headers["CIMI-Specification-Version"] == "1.0.1"
    if response.headers["Content-Type"] == "application/json":
        document = response.json
        assert document["code"] == status and document["message"]
        return document
    root = etree.fromstring(response.content)
    assert root.tag == "error" and root.findtext("code") == str(status)
    return {"message": root.findtext("message")}


def post_escaped(client, path: str, body: dict, headers=JSON):
    # As a client sends it: a lone surrogate travels as the escape \ud800.
    return client.simulate_post(
        path, body=json.dumps(body, ensure_ascii=True), headers=headers
    )


@pytest.mark.parametrize(
    "header", ["Basic \xe9", "Basic \xe9\xe9\xe9\xe9", "Basic " + "\u00ff" * 8]
)
@pytest.mark.parametrize("path", ["/cimi/machines", "/cimi/machine_templates"])
def test_a_non_ascii_basic_header_is_401(mock_client, header, path):
    response = mock_client.simulate_get(path, headers={"Authorization": header})

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("digit", ["\u00b2", "\u2466", "\u0663"])
@pytest.mark.parametrize("param", ["$first", "$last"])
def test_a_unicode_digit_in_paging_is_400(mock_client, param, digit):
    response = mock_client.simulate_get(
        "/cimi/machines", params={param: digit}, headers=AUTH
    )

    assert "must be a positive integer" in assert_error(response, 400)["message"]


class _Broken:
    """A request body the server cannot read (gunicorn: a malformed chunk)."""

    def read(self, *args):
        from gunicorn.http.errors import ChunkMissingTerminator

        raise ChunkMissingTerminator(b"XX")


def test_a_body_that_cannot_be_read_is_400(mock_client):
    from falcon import testing

    environ = testing.create_environ(
        "/cimi/machine_templates",
        method="POST",
        headers={**JSON, "Transfer-Encoding": "chunked"},
    )
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": _Broken(), "wsgi.input_terminated": True})
    result = testing.StartResponseMock()

    body = b"".join(mock_client.app(environ, result))

    assert result.status.startswith("400")
    assert json.loads(body)["message"] == "the request body is malformed or cut short"


@pytest.mark.parametrize(
    "body",
    [
        {"machineConfig": CONFIG, "machineImage": {"href": "img\ud800"}},
        {"machineConfig": CONFIG, "machineImage": IMAGE, "name": "t\ud800"},
        {"machineConfig": CONFIG, "machineImage": IMAGE, "properties": {"k\ud800": ""}},
        {"machineConfig": CONFIG, "machineImage": IMAGE, "properties": {"k": "\x0c"}},
    ],
    ids=["href", "name", "property-key", "property-value"],
)
def test_a_template_with_text_xml_cannot_carry_is_refused_and_not_stored(
    mock_client, body
):
    before = mock_client.simulate_get("/cimi/machine_templates", headers=JSON).json

    response = post_escaped(mock_client, "/cimi/machine_templates", body)

    assert "XML 1.0 cannot carry" in assert_error(response, 400)["message"]
    for accept in ("application/json", "application/xml"):
        listing = mock_client.simulate_get(
            "/cimi/machine_templates", headers={**AUTH, "Accept": accept}
        )
        assert listing.status_code == 200
    after = mock_client.simulate_get("/cimi/machine_templates", headers=JSON).json
    assert after["count"] == before["count"]


def test_a_machine_with_a_surrogate_property_key_is_refused(mock_client):
    body = {
        "name": "poisoned",
        "properties": {"k\ud800": "v"},
        "machineTemplate": {"machineConfig": CONFIG, "machineImage": IMAGE},
    }

    response = post_escaped(mock_client, "/cimi/machines", body)

    assert_error(response, 400)
    listing = mock_client.simulate_get("/cimi/machines", headers=JSON)
    assert listing.status_code == 200
    assert "poisoned" not in listing.text


def test_an_error_echoing_a_lone_surrogate_is_a_json_document(mock_client):
    # The href is echoed in the message; once it could not be encoded.
    response = post_escaped(
        mock_client,
        "/cimi/machines",
        {"machineTemplate": {"href": "http://elsewhere/\ud800"}},
    )

    assert_error(response, 400)
    assert response.content.decode("utf-8")  # UTF-8 all through


@pytest.mark.parametrize("href", ["http://[", "http://[::1/cimi/machines/inst1"])
def test_an_edit_echoing_an_unparsable_url_is_400(mock_client, href):
    response = mock_client.simulate_put(
        "/cimi/machines/inst1",
        json={"operations": [{"rel": "edit", "href": href}]},
        headers=JSON,
    )

    assert "operation: read-only" in assert_error(response, 400)["message"]


@pytest.mark.parametrize("host", ["[::1", "a b", "x/../y", "ex@mple.com", ""])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_host_header_that_is_no_host_is_400(mock_client, host, method):
    response = mock_client.simulate_request(
        method,
        "/cimi/machines/inst1",
        json={"name": "x"} if method == "PUT" else None,
        headers={**JSON, "Host": host},
    )

    assert "Host:" in assert_error(response, 400)["message"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "cimi.example.com"])
def test_a_host_header_names_every_href(mock_client, host):
    response = mock_client.simulate_get(
        "/cimi/machines/inst1", headers={**JSON, "Host": host}
    )

    assert response.status_code == 200
    assert response.json["id"] == f"http://{host}/cimi/machines/inst1"


# -- templates: references are checked against the cloud ----------------------


@pytest.mark.parametrize(
    ("changes", "culprit"),
    [
        ({"machineImage": {"href": f"{BASE}/machine_images/nope"}}, "machineImage"),
        (
            {"machineConfig": {"href": f"{BASE}/machine_configurations/nope"}},
            "machineConfig",
        ),
        ({"machineConfig": {"cpu": 64, "memory": 1}}, "machineConfig"),
    ],
    ids=["image", "config", "config-by-value"],
)
def test_a_template_naming_nothing_is_400_naming_the_attribute(
    mock_client, changes, culprit
):
    good = {"machineConfig": CONFIG, "machineImage": IMAGE}
    before = mock_client.simulate_get("/cimi/machine_templates", headers=JSON).json

    created = mock_client.simulate_post(
        "/cimi/machine_templates", json={**good, **changes}, headers=JSON
    )
    kept = mock_client.simulate_post("/cimi/machine_templates", json=good, headers=JSON)
    edited = mock_client.simulate_put(
        kept.headers["Location"].removeprefix("http://falconframework.org"),
        json=changes,
        headers=JSON,
    )

    assert assert_error(created, 400)["message"].startswith(f"{culprit}:")
    assert assert_error(edited, 400)["message"].startswith(f"{culprit}:")
    after = mock_client.simulate_get("/cimi/machine_templates", headers=JSON).json
    assert after["count"] == before["count"] + 1
    assert after["machineTemplates"][-1]["machineImage"] == IMAGE


# -- answers --------------------------------------------------------------------


def test_a_delete_answering_200_sends_no_content_type(mock_client):
    created = mock_client.simulate_post(
        "/cimi/machine_templates",
        json={"machineConfig": CONFIG, "machineImage": IMAGE},
        headers=JSON,
    )

    path = created.headers["Location"].removeprefix("http://falconframework.org")

    status, headers, body = unvalidated(mock_client, "DELETE", path, AUTH)

    assert status.startswith("200")
    assert body == b""
    assert "content-type" not in headers
    assert headers["cimi-specification-version"] == "1.0.1"


def test_head_keeps_its_content_type(mock_client):
    head = mock_client.simulate_head("/cimi/machine_images/img1", headers=AUTH)

    assert head.status_code == 200
    assert head.headers["Content-Type"] == "application/xml"


def test_every_answer_carries_a_request_id(mock_client):
    mine = mock_client.simulate_get(
        "/cimi/machines", headers={**AUTH, "X-Request-Id": "abc-123"}
    )
    theirs = mock_client.simulate_get(
        "/cimi/machines", headers={**AUTH, "X-Request-Id": "bad id\x7f"}
    )
    refused = mock_client.simulate_get("/cimi/machines")

    assert mine.headers["X-Request-Id"] == "abc-123"
    assert len(theirs.headers["X-Request-Id"]) == 32  # ours, not the bad one
    assert refused.status_code == 401 and refused.headers["X-Request-Id"]


def test_health_answers_anyone_and_touches_no_cloud(mock_client):
    response = mock_client.simulate_get("/healthz", headers={"Host": "anything:1"})

    assert response.status_code == 200
    assert response.json == {"status": "ok"}
