"""Bad input over HTTP: a CIMI error document with the right 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
import requests
from lxml import etree

XML_BODY = {"Content-Type": "application/xml"}
JSON_BODY = {"Content-Type": "application/json"}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<MachineImage><name>&lol9;</name><imageLocation>inst1</imageLocation></MachineImage>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<MachineImage><name>&xxe;</name><imageLocation>inst1</imageLocation></MachineImage>"""


def image_body(location: str, **extra: str) -> str:
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    location = f"<imageLocation>{location}</imageLocation>"
    return f"<MachineImage>{fields}{location}</MachineImage>"


def assert_error(response: requests.Response, status: int, media: str = "xml") -> str:
    """Check a CIMI error document; return its message."""
    assert response.status_code == status, response.text
    assert response.headers["CIMI-Specification-Version"] == "1.0.1"
    assert "Accept" in response.headers.get("Vary", "")
    assert "Traceback" not in response.text
    if media == "json":
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body["code"] == status
        return body["message"]
    assert response.headers["Content-Type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert root.tag == "error"
    assert root.get("status") == str(status)
    assert root.findtext("code") == str(status)
    return root.findtext("message")


# (id, method, path, headers, body, status, words the message must hold)
CASES = [
    (
        "malformed-xml",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        "<MachineImage>",
        400,
        "XML",
    ),
    (
        "malformed-json",
        "POST",
        "/cimi/machine_images",
        JSON_BODY,
        '{"name": ',
        400,
        "JSON",
    ),
    (
        "json-not-object",
        "POST",
        "/cimi/machine_images",
        JSON_BODY,
        "[1, 2]",
        400,
        "object",
    ),
    ("empty-body", "POST", "/cimi/machine_images", XML_BODY, "", 400, "empty"),
    (
        "missing-imageLocation",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        "<MachineImage><name>x</name></MachineImage>",
        400,
        "imageLocation",
    ),
    (
        "imageLocation-elsewhere",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        image_body("http://elsewhere.example/cimi/machines/inst1"),
        400,
        "imageLocation",
    ),
    (
        "imageLocation-not-a-machine",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        image_body("{base}/cimi/machine_images/img1"),
        400,
        "imageLocation",
    ),
    (
        "imageLocation-unknown-machine",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        image_body("{base}/cimi/machines/inst99"),
        400,
        "inst99",
    ),
    (
        "unknown-type",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        image_body("inst1", type="DISK"),
        400,
        "type",
    ),
    (
        "wrong-root",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        "<Machine><imageLocation>inst1</imageLocation></Machine>",
        400,
        "root",
    ),
    (
        "entity-bomb",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        BILLION_LAUGHS,
        400,
        "DOCTYPE",
    ),
    ("external-entity", "POST", "/cimi/machine_images", XML_BODY, XXE, 400, "DOCTYPE"),
    ("unknown-image", "GET", "/cimi/machine_images/nope", {}, None, 404, "nope"),
    ("unknown-machine", "GET", "/cimi/machines/nope", {}, None, 404, "nope"),
    (
        "delete-unknown-image",
        "DELETE",
        "/cimi/machine_images/nope",
        {},
        None,
        404,
        "nope",
    ),
    ("unknown-path", "GET", "/cimi/meters", {}, None, 404, "/cimi/meters"),
    ("control-char-id", "GET", "/cimi/machine_images/a%00%01b", {}, None, 404, "a"),
    (
        "post-machine",
        "POST",
        "/cimi/machines/inst1",
        XML_BODY,
        "<Machine/>",
        405,
        "POST",
    ),
    (
        "put-image",
        "PUT",
        "/cimi/machine_images/img1",
        XML_BODY,
        "<MachineImage/>",
        405,
        "PUT",
    ),
    ("delete-collection", "DELETE", "/cimi/machine_images", {}, None, 405, "DELETE"),
    (
        "unsupported-media-type",
        "POST",
        "/cimi/machine_images",
        {"Content-Type": "text/plain"},
        "imageLocation=inst1",
        415,
        "application/xml",
    ),
    (
        "form-encoded",
        "POST",
        "/cimi/machine_images",
        {"Content-Type": "application/x-www-form-urlencoded"},
        "imageLocation=inst1",
        415,
        "",
    ),
    (
        "too-large",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        b"<a>" + b"x" * 2**20 + b"</a>",
        413,
        "bytes",
    ),
    (
        "bad-format",
        "GET",
        "/cimi/machine_images?$format=yaml",
        {},
        None,
        400,
        "$format",
    ),
    (
        "capture-not-capturable",
        "POST",
        "/cimi/machine_images",
        XML_BODY,
        image_body("inst3"),
        409,
        "inst3",
    ),
]


@pytest.mark.parametrize("media", ["xml", "json"])
@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_gets_a_cimi_error(
    mock_gateway, client, media, method, path, headers, body, status, words
):
    accept = {"Accept": f"application/{media}"}
    if isinstance(body, str):
        body = body.replace("{base}", mock_gateway.url).encode()

    response = client.request(
        method, mock_gateway.url + path, headers={**headers, **accept}, data=body
    )

    message = assert_error(response, status, media)
    assert words in message


def test_chunked_body_over_the_limit_is_refused(mock_gateway, client):
    def chunks():
        yield b"<MachineImage><name>"
        for _ in range(1100):
            yield b"x" * 1024
        yield b"</name></MachineImage>"

    response = client.post(
        f"{mock_gateway.url}/cimi/machine_images", data=chunks(), headers=XML_BODY
    )

    assert_error(response, 413)


@pytest.mark.parametrize(
    "auth",
    [None, ("mockuser", "wrong"), ("someone", "mockpassword")],
    ids=["none", "wrong-password", "wrong-user"],
)
@pytest.mark.parametrize(
    "path", ["/cimi/machine_templates", "/cimi/machine_images", "/cimi/machines/inst1"]
)
def test_no_one_in_without_credentials(mock_gateway, auth, path):
    response = requests.get(mock_gateway.url + path, auth=auth)

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_garbled_basic_header_is_401(mock_gateway):
    response = requests.get(
        f"{mock_gateway.url}/cimi/machine_images",
        headers={"Authorization": "Basic !!!notbase64"},
    )

    assert_error(response, 401)


def test_accept_we_cannot_serve_is_406(mock_gateway, client):
    response = client.get(
        f"{mock_gateway.url}/cimi/machine_images", headers={"Accept": "text/html"}
    )

    assert_error(response, 406)


def test_entity_bomb_is_refused_at_once(mock_gateway, client):
    response = client.post(
        f"{mock_gateway.url}/cimi/machine_images",
        data=BILLION_LAUGHS,
        headers=XML_BODY,
        timeout=5,
    )

    assert_error(response, 400)
    assert b"lol" not in response.content


def test_capture_with_a_taken_name_is_409(mock_gateway, client):
    response = client.post(
        f"{mock_gateway.url}/cimi/machine_images",
        data=json.dumps({"name": "img1", "imageLocation": "inst1"}),
        headers={**JSON_BODY, "Accept": "application/json"},
    )

    assert_error(response, 409, "json")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "//cimi/machines"),
        ("GET", "/cimi//machine_images/img1"),
        ("POST", "//cimi/machines/inst0/stop"),
        ("GET", "//cimi//jobs"),
    ],
)
def test_doubled_slashes_do_not_escape_authentication(mock_gateway, method, path):
    # requests would normalise the path; http.client sends it as written.
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", mock_gateway.port, timeout=10)
    try:
        connection.request(
            method, path, body=b"{}", headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    # Either the route is found and asks for credentials, or there is no
    # route there at all (404): never an answer without them.
    assert response.status in (401, 404), body
    assert b"<error" in body
    assert b"Traceback" not in body


def test_an_href_that_is_no_url_is_400(mock_gateway, client):
    response = client.post(
        f"{mock_gateway.url}/cimi/machine_images",
        json={"imageLocation": "http://[::1"},
        headers={"Accept": "application/json"},
    )

    assert_error(response, 400, "json")
