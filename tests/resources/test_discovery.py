"""Discovery: the entry point Deltacloud's clients read, ResourceMetadata, and
both derived from what a provider declares it serves."""

from __future__ import annotations

import falcon.testing
import pytest
from lxml import etree

from gateway import config
from gateway.app import create_app
from gateway.store import Store
from providers.base import START
from providers.base import STOP
from providers.base import Provider
from providers.families import ServesMachineConfigurations
from providers.families import ServesMachineImages
from providers.mock import MockProvider
from tests.resources.conftest import AUTH
from tests.resources.conftest import app_with

NS = {"c": "http://schemas.dmtf.org/cimi/1"}
JSON = {"Accept": "application/json"}
HOST = "http://falconframework.org"


def client_for(tmp_path, auth: str = "") -> falcon.testing.TestClient:
    loaded = config.parse(
        f'[store]\npath = "{tmp_path}/s.sqlite3"\n{auth}'
        '[providers.default]\ndriver = "mock"\nmount = "/cimi"\n'
    )
    return falcon.testing.TestClient(create_app(loaded, store=Store(loaded.store_url)))


# -- the entry point ------------------------------------------------------------


def test_the_entry_point_names_driver_and_provider_where_deltacloud_did(tmp_path):
    client = client_for(tmp_path)

    root = etree.fromstring(client.simulate_get("/cimi/cloudEntryPoint").content)
    names = [etree.QName(child).localname for child in root]
    body = client.simulate_get("/cimi/cloudEntryPoint", headers=JSON).json

    assert names[names.index("created") + 1 : names.index("baseURI")] == [
        "driver",
        "provider",
    ]
    assert root.findtext("c:driver", namespaces=NS) == "mock"
    assert root.findtext("c:provider", namespaces=NS) == "default"
    assert (body["driver"], body["provider"]) == ("mock", "default")
    assert body["resourceMetadata"] == {"href": f"{HOST}/cimi/resource_metadata"}


def test_discovery_needs_no_credentials_but_everything_else_does(tmp_path):
    client = client_for(tmp_path)

    for path in (
        "/cimi/cloudEntryPoint",
        "/cimi/resource_metadata",
        "/cimi/resource_metadata/machine",
    ):
        assert client.simulate_get(path).status_code == 200, path
    assert client.simulate_get("/cimi").status_code == 301
    for path in ("/cimi/machines", "/cimi/machine_images", "/cimi/jobs"):
        assert client.simulate_get(path).status_code == 401, path
    # Wrong credentials do not spoil an open entry point: it asks no one.
    wrong = {"Authorization": "Basic bm9ib2R5Om5vdGhpbmc="}
    assert (
        client.simulate_get("/cimi/cloudEntryPoint", headers=wrong).status_code == 200
    )


def test_discovery_can_be_closed(tmp_path):
    client = client_for(tmp_path, "[auth]\nopen_discovery = false\n")

    for path in ("/cimi/cloudEntryPoint", "/cimi/resource_metadata", "/cimi"):
        assert client.simulate_get(path).status_code == 401, path
        assert client.simulate_get(path, headers=AUTH).status_code in (200, 301)
    metadata = client.simulate_get(
        "/cimi/resource_metadata/cloud_entry_point", headers={**AUTH, **JSON}
    ).json
    assert capabilities(metadata)["OpenDiscovery"] == "false"


def test_the_entry_point_date_stays_put(tmp_path):
    first = client_for(tmp_path).simulate_get("/cimi/cloudEntryPoint", headers=JSON)
    again = client_for(tmp_path).simulate_get("/cimi/cloudEntryPoint", headers=JSON)

    assert first.json["created"] == again.json["created"]
    assert first.headers["ETag"] == again.headers["ETag"]


# -- what a provider declares is what is served --------------------------------


class ImagesOnly(Provider, ServesMachineImages, ServesMachineConfigurations):
    """A cloud with images and sizes but no machines (a registry, say)."""

    kind = "images-only"
    can_capture = False

    def __init__(self, name, settings, store) -> None:
        super().__init__(name, settings, store)
        self.mock = MockProvider(name, {"delay": 0}, store)

    def check_credentials(self, creds) -> None:
        self.mock.check_credentials(creds)

    def describe(self) -> dict:
        return {"name": "registry", "description": "images only"}

    def list_machine_images(self, creds, narrow=None):
        return self.mock.list_machine_images(creds, narrow)

    def get_machine_image(self, creds, image_id):
        return self.mock.get_machine_image(creds, image_id)

    def delete_machine_image(self, creds, image_id):
        self.mock.delete_machine_image(creds, image_id)

    def capture(self, creds, machine_id, values):
        raise AssertionError("never asked: it declares no capture")

    def list_machine_configurations(self, creds):
        return self.mock.list_machine_configurations(creds)

    def get_machine_configuration(self, creds, config_id):
        return self.mock.get_machine_configuration(creds, config_id)


@pytest.fixture
def images_only(tmp_path) -> falcon.testing.TestClient:
    store = Store(f"sqlite:///{tmp_path}/s.sqlite3")
    return app_with({"mock": ImagesOnly("mock", {}, store)}, tmp_path)


def test_a_provider_without_machines_serves_no_machine_collections(images_only):
    cep = images_only.simulate_get("/cimi/cloudEntryPoint", headers=JSON).json
    metadata = images_only.simulate_get("/cimi/resource_metadata", headers=JSON).json

    assert {k for k, v in cep.items() if isinstance(v, dict)} == {
        "resourceMetadata",
        "machineConfigs",
        "machineImages",
        "jobs",
    }
    assert [m["name"] for m in metadata["resourceMetadata"]] == [
        "MachineConfiguration",
        "MachineImage",
        "Job",
        "CloudEntryPoint",
    ]
    for path in ("/cimi/machines", "/cimi/machines/inst1", "/cimi/machine_templates"):
        assert images_only.simulate_get(path, headers=AUTH).status_code == 404, path
    assert (
        images_only.simulate_get("/cimi/machine_images", headers=AUTH).status_code
        == 200
    )


def test_a_provider_that_cannot_capture_takes_no_capture(images_only):
    images = images_only.simulate_get(
        "/cimi/machine_images", headers={**AUTH, **JSON}
    ).json
    post = images_only.simulate_post(
        "/cimi/machine_images",
        headers={**AUTH, **JSON, "Content-Type": "application/json"},
        json={"imageLocation": f"{HOST}/cimi/machines/inst1"},
    )
    metadata = images_only.simulate_get(
        "/cimi/resource_metadata/machine_image", headers=JSON
    ).json

    assert "operations" not in images  # no "add"
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET, HEAD"
    assert post.json["message"] == (
        "POST is not allowed here; allowed: GET, HEAD "
        "(this cloud does not capture machines)"
    )
    assert capabilities(metadata)["Capture"] == "false"


class Declared(MockProvider):
    """The mock cloud, declaring less than it could do."""

    machine_actions = (START, STOP)
    can_capture = False
    forces_stop = True
    initial_states = ("STOPPED",)
    takes_user_data = False


def test_metadata_and_operations_follow_the_declaration(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.sqlite3")
    client = app_with({"mock": Declared("mock", {"delay": 0}, store)}, tmp_path)

    machine = client.simulate_get("/cimi/resource_metadata/machine", headers=JSON).json
    inst1 = client.simulate_get("/cimi/machines/inst1", headers={**AUTH, **JSON}).json
    restart = client.simulate_post(
        "/cimi/machines/inst1/restart",
        headers={**AUTH, **JSON, "Content-Type": "application/json"},
        json={"action": "http://schemas.dmtf.org/cimi/1/action/restart"},
    )

    assert [a["name"] for a in machine["actions"]] == ["start", "stop"]
    found = capabilities(machine)
    assert found["DefaultInitialState"] == "STOPPED"
    assert found["InitialStates"] == "STOPPED"
    assert found["MachineStopForce"] == "true"
    assert found["UserData"] == "false"
    rels = {op["rel"].rsplit("/", 1)[-1] for op in inst1["operations"]}
    assert rels == {"edit", "delete", "stop"}  # no restart, no capture
    assert restart.status_code == 404


# -- ResourceMetadata ----------------------------------------------------------


def capabilities(member: dict) -> dict[str, str]:
    return {c["name"]: c["value"] for c in member.get("capabilities", [])}


def test_resource_metadata_describes_what_the_mock_serves(mock_client):
    body = mock_client.simulate_get("/cimi/resource_metadata", headers=JSON).json
    members = body["resourceMetadata"]

    assert body["count"] == len(members) == 18
    assert [m["name"] for m in members] == [
        "Machine",
        "System",
        "SystemTemplate",
        "MachineTemplate",
        "MachineConfiguration",
        "MachineImage",
        "Credential",
        "CredentialTemplate",
        "Volume",
        "VolumeTemplate",
        "VolumeConfiguration",
        "VolumeImage",
        "Network",
        "Address",
        "AddressTemplate",
        "Job",
        "MachineVolume",
        "CloudEntryPoint",
    ]
    for member in members:
        assert member["typeUri"] == f"http://schemas.dmtf.org/cimi/1/{member['name']}"
        for found in member.get("capabilities", []):
            assert set(found) == {"name", "uri", "description", "value"}
            assert found["uri"].endswith(
                f"/capability/{member['name']}/{found['name']}"
            )
        for found in member.get("attributes", []):
            assert set(found) == {"name", "namespace", "type", "required"}
        for found in member.get("actions", []):
            assert set(found) == {
                "name",
                "uri",
                "description",
                "method",
                "inputMessage",
                "outputMessage",
            }
    machine = members[0]
    assert [a["name"] for a in machine["actions"]] == [
        "start",
        "stop",
        "restart",
        "capture",
    ]
    assert capabilities(machine)["InitialStates"] == "STARTED,STOPPED"
    assert capabilities(members[3])["ExpandParameterQuery"] == (
        "machineConfig,machineImage,credential"
    )
    by_name = {member["name"]: member for member in members}
    assert capabilities(by_name["Job"])["JobRetention"] == "86400"
    assert [a["name"] for a in members[-1]["attributes"]] == ["driver", "provider"]


def test_resource_metadata_members_are_readable_by_id(mock_client):
    machine = mock_client.simulate_get(
        "/cimi/resource_metadata/machine", headers=JSON
    ).json
    missing = mock_client.simulate_get("/cimi/resource_metadata/meter", headers=JSON)

    assert machine["id"] == f"{HOST}/cimi/resource_metadata/machine"
    assert machine["resourceURI"] == "http://schemas.dmtf.org/cimi/1/ResourceMetadata"
    assert missing.status_code == 404


def test_resource_metadata_in_xml_is_deltacloud_s_shape(mock_client):
    root = etree.fromstring(
        mock_client.simulate_get("/cimi/resource_metadata/machine").content
    )
    initial = root.find("c:capability[@name='InitialStates']", NS)
    stop = root.find("c:action[@name='stop']", NS)

    assert root.findtext("c:typeUri", namespaces=NS).endswith("/Machine")
    assert initial.text == "STARTED,STOPPED"
    assert initial.get("uri").endswith("/capability/Machine/InitialStates")
    assert (stop.get("method"), stop.get("inputMessage")) == ("POST", "Action")
    cep = etree.fromstring(
        mock_client.simulate_get("/cimi/resource_metadata/cloud_entry_point").content
    )
    driver = cep.find("c:attribute[@name='driver']", NS)
    assert (driver.get("type"), driver.get("required")) == ("text", "false")


def test_resource_metadata_can_be_queried(mock_client):
    body = mock_client.simulate_get(
        "/cimi/resource_metadata",
        query_string="$filter=name^='Machine'&$orderby=name:desc&$select=name",
        headers=JSON,
    ).json
    assert [m["name"] for m in body["resourceMetadata"]] == [
        "MachineVolume",
        "MachineTemplate",
        "MachineImage",
        "MachineConfiguration",
        "Machine",
    ]
