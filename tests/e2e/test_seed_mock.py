"""Every exchange of the seed page, over HTTP, against the mock cloud."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from lxml import etree

NS = "http://schemas.dmtf.org/cimi/1"
IMAGE_ORDER = ["id", "name", "description", "created", "state", "type", "imageLocation"]
SEED_IMAGES = [("img1", "Fedora 10"), ("img2", "Fedora 10"), ("img3", "JBoss")]
XML = {"Accept": "application/xml"}
JSON = {"Accept": "application/json"}


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def children(element: etree._Element) -> list[str]:
    return [local(child) for child in element]


def text(element: etree._Element, name: str) -> str:
    return element.find(f"{{{NS}}}{name}").text


def assert_cimi_headers(response, media_type: str = "application/xml") -> None:
    assert response.headers["CIMI-Specification-Version"] == "1.0.1"
    assert response.headers["Content-Type"] == media_type
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])
    assert response.headers["Cache-Control"] == "max-age=0, private, must-revalidate"


def assert_iso_with_offset(value: str) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", value), value
    assert datetime.fromisoformat(value).tzinfo is not None


def assert_seed_image(element: etree._Element, base: str, id: str, description: str):
    # The seed's element order, then the operations we add at the end.
    assert children(element)[: len(IMAGE_ORDER)] == IMAGE_ORDER
    assert set(children(element)[len(IMAGE_ORDER) :]) <= {"operation"}
    assert text(element, "id") == f"{base}/cimi/machine_images/{id}"
    assert text(element, "name") == id
    assert text(element, "description") == description
    assert_iso_with_offset(text(element, "created"))
    assert text(element, "state") == "AVAILABLE"
    assert text(element, "type") == "IMAGE"
    assert text(element, "imageLocation") == f"mock://{id}"


def test_image_collection_is_the_seeds(mock_gateway, client):
    response = client.get(f"{mock_gateway.url}/cimi/machine_images", headers=XML)

    assert response.status_code == 200
    assert_cimi_headers(response)
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{NS}}}Collection"
    assert root.get("resourceURI") == f"{NS}/MachineImageCollection"
    assert text(root, "id") == f"{mock_gateway.url}/cimi/machine_images"
    images = {text(e, "name"): e for e in root.iter(f"{{{NS}}}MachineImage")}
    for id, description in SEED_IMAGES:
        assert_seed_image(images[id], mock_gateway.url, id, description)
    assert int(text(root, "count")) == len(images)
    assert children(root)[:2] == ["id", "count"]
    add = root[-1]
    assert local(add) == "operation"
    assert add.attrib == {
        "rel": "add",
        "href": f"{mock_gateway.url}/cimi/machine_images",
    }


def test_single_image_is_the_seeds(mock_gateway, client):
    response = client.get(f"{mock_gateway.url}/cimi/machine_images/img1", headers=XML)

    assert response.status_code == 200
    assert_cimi_headers(response)
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{NS}}}MachineImage"
    assert root.get("resourceURI") == f"{NS}/MachineImage"
    assert_seed_image(root, mock_gateway.url, "img1", "Fedora 10")
    delete = root.find(f"{{{NS}}}operation[@rel='delete']")
    assert delete.get("href") == f"{mock_gateway.url}/cimi/machine_images/img1"


@pytest.mark.parametrize("accept", [None, "*/*", "application/xml"], ids=str)
def test_xml_is_the_default(mock_gateway, client, accept):
    headers = {"Accept": accept} if accept else {}
    client.headers.pop("Accept", None)

    response = client.get(
        f"{mock_gateway.url}/cimi/machine_images/img2", headers=headers
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"


def test_image_in_json(mock_gateway, client):
    response = client.get(f"{mock_gateway.url}/cimi/machine_images", headers=JSON)

    assert response.status_code == 200
    assert_cimi_headers(response, "application/json")
    body = response.json()
    assert list(body)[0] == "resourceURI"
    assert body["resourceURI"] == f"{NS}/MachineImageCollection"
    assert body["count"] == len(body["machineImages"])
    img3 = next(i for i in body["machineImages"] if i["name"] == "img3")
    assert img3["description"] == "JBoss"
    assert img3["imageLocation"] == "mock://img3"
    assert body["operations"] == [
        {"rel": "add", "href": f"{mock_gateway.url}/cimi/machine_images"}
    ]


def test_capture_then_delete_as_the_seed_shows(mock_gateway, client):
    base = mock_gateway.url
    body = f"""<MachineImage>
  <name>some_name</name>
  <description>my new machine_image</description>
  <type>IMAGE</type>
  <imageLocation>{base}/cimi/machines/inst1</imageLocation>
</MachineImage>"""
    headers = {**XML, "Content-Type": "application/xml"}

    created = client.post(f"{base}/cimi/machine_images", data=body, headers=headers)

    assert created.status_code == 201
    assert created.headers["Location"] == f"{base}/cimi/machine_images/some_name"
    assert_cimi_headers(created)
    root = etree.fromstring(created.content)
    assert children(root)[: len(IMAGE_ORDER)] == IMAGE_ORDER
    assert text(root, "id") == created.headers["Location"]
    assert text(root, "name") == "some_name"
    assert text(root, "description") == "my new machine_image"
    assert text(root, "state") == "AVAILABLE"
    assert text(root, "imageLocation") == "mock://some_name"

    listed = client.get(f"{base}/cimi/machine_images", headers=JSON).json()
    assert "some_name" in [i["name"] for i in listed["machineImages"]]

    deleted = client.delete(f"{base}/cimi/machine_images/some_name", headers=XML)
    assert deleted.status_code == 200
    assert deleted.content == b""
    assert deleted.headers["CIMI-Specification-Version"] == "1.0.1"

    gone = client.get(f"{base}/cimi/machine_images/some_name", headers=XML)
    assert gone.status_code == 404


def test_capture_in_json_with_a_bare_machine_id(mock_gateway, client):
    base = mock_gateway.url
    body = {
        "resourceURI": f"{NS}/MachineImageCreate",
        "name": "  json_capture  ",
        "imageLocation": "inst2",
    }

    created = client.post(f"{base}/cimi/machine_images", json=body, headers=JSON)

    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json"
    assert created.json()["name"] == "json_capture"
    assert created.json()["id"] == created.headers["Location"]
    assert client.delete(created.headers["Location"]).status_code == 200


def test_entry_point_links_what_is_served(mock_gateway, client):
    response = client.get(f"{mock_gateway.url}/cimi/cloudEntryPoint", headers=JSON)

    assert response.status_code == 200
    body = response.json()
    assert body["resourceURI"] == f"{NS}/CloudEntryPoint"
    assert body["baseURI"] == f"{mock_gateway.url}/cimi/"
    assert body["name"] == "mock"
    assert (body["driver"], body["provider"]) == ("mock", "mock")
    links = {k: v["href"] for k, v in body.items() if isinstance(v, dict)}
    assert set(links) == {
        "resourceMetadata",
        "systems",
        "systemTemplates",
        "machines",
        "machineTemplates",
        "machineConfigs",
        "machineImages",
        "credentials",
        "credentialTemplates",
        "volumes",
        "volumeTemplates",
        "volumeConfigs",
        "volumeImages",
        "networks",
        "addresses",
        "addressTemplates",
        "jobs",
    }
    for href in links.values():
        assert client.get(href).status_code == 200


def test_machine_advertises_capture_only_where_possible(mock_gateway, client):
    base = mock_gateway.url
    body = client.get(f"{base}/cimi/machines", headers=JSON).json()

    machines = {m["id"].rsplit("/", 1)[-1]: m for m in body["machines"]}
    assert set(machines) >= {"inst0", "inst1", "inst2", "inst3"}
    capture = {
        "rel": f"{NS}/action/capture",
        "href": f"{base}/cimi/machine_images",
    }
    assert capture in machines["inst1"]["operations"]
    assert capture not in machines["inst3"].get("operations", [])
    assert machines["inst1"]["state"] == "STARTED"
    assert machines["inst1"]["memory"] == 1782579
    assert isinstance(machines["inst1"]["cpu"], int)


def test_root_redirects_to_the_entry_point(mock_gateway, client):
    response = client.get(f"{mock_gateway.url}/cimi/", allow_redirects=False)

    assert response.status_code == 301
    assert response.headers["Location"] == f"{mock_gateway.url}/cimi/cloudEntryPoint"


def test_head_answers_what_get_would_without_the_body(mock_gateway, client):
    url = f"{mock_gateway.url}/cimi/machine_images/img1"

    head, get = client.head(url, headers=XML), client.get(url, headers=XML)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.content))
