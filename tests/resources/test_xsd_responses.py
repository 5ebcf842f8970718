"""Every XML document the app serves validates against DSP8009.

Once the seed's ``resourceURI`` attribute is taken off a non-Collection root;
error documents are not CIMI resources (DSP8009 has no error type).
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.e2e.scenario import NS
from tests.e2e.scenario import PUBLIC_KEY
from tests.resources.conftest import AUTH
from tests.support.shared import load_schema
from tests.support.shared import without_resource_uri

PATHS = [
    "/cimi/cloudEntryPoint",
    "/cimi/resource_metadata",
    "/cimi/resource_metadata/machine",
    "/cimi/resource_metadata/cloud_entry_point",
    "/cimi/machine_configurations",
    "/cimi/machine_configurations/m1-large",
    "/cimi/machine_templates",
    "/cimi/jobs",
    "/cimi/machine_images",
    "/cimi/machine_images/img1",
    "/cimi/machines",
    "/cimi/machines/inst0",
    "/cimi/machines/inst3",
    "/cimi/volumes",
    "/cimi/volumes/vol3",
    "/cimi/volume_configurations",
    "/cimi/volume_configurations/ssd",
    "/cimi/volume_images",
    "/cimi/volume_images/snap1",
    "/cimi/volume_templates",
    "/cimi/machines/inst1/volumes",
    "/cimi/machines/inst1/volumes/vol3",
    "/cimi/resource_metadata/volume",
    "/cimi/resource_metadata/machine_volume",
    "/cimi/credentials",
    "/cimi/credentials/test-key",
    "/cimi/credential_templates",
    "/cimi/networks",
    "/cimi/networks/default",
    "/cimi/addresses",
    "/cimi/addresses/192.168.0.2",
    "/cimi/address_templates",
]


@pytest.fixture(scope="module")
def schema():
    return load_schema()  # skips, saying why, without the reference files


@pytest.mark.parametrize("path", PATHS)
def test_served_xml_validates(mock_client, schema, path):
    response = mock_client.simulate_get(
        path, headers={**AUTH, "Accept": "application/xml"}
    )

    assert response.status_code == 200
    root = without_resource_uri(response.content)
    assert schema.validate(root), schema.error_log


def test_created_image_validates(mock_client, schema):
    response = mock_client.simulate_post(
        "/cimi/machine_images",
        headers={**AUTH, "Content-Type": "application/xml"},
        body="<MachineImage><name>v</name><imageLocation>inst1</imageLocation></MachineImage>",
    )

    assert response.status_code == 201
    assert schema.validate(without_resource_uri(response.content)), schema.error_log


def test_template_machine_and_job_documents_validate(mock_client, schema):
    json_in = {**AUTH, "Content-Type": "application/json"}
    xml_out = {"Accept": "application/xml"}
    template = mock_client.simulate_post(
        "/cimi/machine_templates",
        headers={**json_in, **xml_out},
        json={
            "name": "t",
            "properties": {"k": "v"},
            "initialState": "STOPPED",
            "machineConfig": {"cpu": 1, "memory": 1782579},
            "machineImage": {
                "href": "http://falconframework.org/cimi/machine_images/img1"
            },
            "credential": {
                "href": "http://falconframework.org/cimi/credentials/test-key"
            },
            "userData": "aGVsbG8=",
        },
    )
    assert template.status_code == 201, template.text
    machine = mock_client.simulate_post(
        "/cimi/machines",
        headers={**json_in, **xml_out},
        json={"machineTemplate": {"href": template.headers["Location"]}},
    )
    assert machine.status_code == 201, machine.text
    job = mock_client.simulate_get(
        machine.headers["CIMI-Job-URI"].removeprefix("http://falconframework.org"),
        headers={**AUTH, **xml_out},
    )

    # References inlined by $expand, and a $select cut, validate too.
    expanded = [
        mock_client.simulate_get(
            path, query_string=query, headers={**AUTH, "Accept": "application/xml"}
        )
        for path, query in (
            ("/cimi/machine_templates", "$expand=*"),
            ("/cimi/jobs", "$expand=targetResource&$select=targetResource,status"),
            ("/cimi/machines", "$filter=state='CREATING'&$orderby=name:desc"),
        )
    ]
    assert b"<cpu>" in expanded[0].content
    for response in (template, machine, job, *expanded):
        assert response.status_code in (200, 201), response.text
        root = without_resource_uri(response.content)
        assert schema.validate(root), schema.error_log


def test_volume_documents_validate(mock_client, schema):
    base = "http://falconframework.org/cimi"
    json_in = {**AUTH, "Content-Type": "application/json", "Accept": "application/xml"}
    template = mock_client.simulate_post(
        "/cimi/volume_templates",
        headers=json_in,
        json={
            "name": "t",
            "volumeConfig": {"href": f"{base}/volume_configurations/ssd"},
            "volumeImage": {"href": f"{base}/volume_images/snap1"},
        },
    )
    volume = mock_client.simulate_post(
        "/cimi/volumes",
        headers=json_in,
        json={"name": "v", "volumeTemplate": {"href": template.headers["Location"]}},
    )
    attached = mock_client.simulate_post(
        "/cimi/machines/inst2/volumes",
        headers=json_in,
        json={
            "initialLocation": "/dev/sdh",
            "volume": {"href": f"{base}/volumes/vol2"},  # the new one is CREATING
        },
    )
    snapshot = mock_client.simulate_post(
        "/cimi/volume_images",
        headers=json_in,
        json={"name": "s", "imageLocation": f"{base}/volumes/vol1"},
    )
    expanded = [
        mock_client.simulate_get(
            path, query_string=query, headers={**AUTH, "Accept": "application/xml"}
        )
        for path, query in (
            ("/cimi/volume_templates", "$expand=*"),
            ("/cimi/machines/inst2/volumes", "$expand=volume"),
            ("/cimi/volume_images", "$filter=name='s'&$select=name,state"),
        )
    ]
    assert b"<capacity>" in expanded[0].content
    for response in (template, volume, attached, snapshot, *expanded):
        assert response.status_code in (200, 201), response.text
        root = without_resource_uri(response.content)
        assert schema.validate(root), (response.text, schema.error_log)


def test_credential_documents_validate(mock_client, schema):
    json_in = {**AUTH, "Content-Type": "application/json", "Accept": "application/xml"}
    template = mock_client.simulate_post(
        "/cimi/credential_templates", headers=json_in, json={"name": "t"}
    )
    generated = mock_client.simulate_post(
        "/cimi/credentials",
        headers=json_in,
        json={
            "name": "made",
            "credentialTemplate": {"href": template.headers["Location"]},
        },
    )
    # A key given as its OpenSSH line is shown as DSP8009's hexBinary.
    keyed = mock_client.simulate_post(
        "/cimi/credential_templates",
        headers=json_in,
        json={"name": "k", "key": PUBLIC_KEY},
    )
    assert f"<key>{PUBLIC_KEY.encode().hex()}</key>" in keyed.text
    for response in (template, generated, keyed):
        assert response.status_code == 201, response.text
        root = without_resource_uri(response.content)
        assert schema.validate(root), (response.text, schema.error_log)


def test_address_documents_validate(mock_client, schema):
    base = "http://falconframework.org/cimi"
    json_in = {**AUTH, "Content-Type": "application/json", "Accept": "application/xml"}
    template = mock_client.simulate_post(
        "/cimi/address_templates",
        headers=json_in,
        json={
            "name": "t",
            "protocol": "IPv4",
            "network": {"href": f"{base}/networks/default"},
        },
    )
    allocated = mock_client.simulate_post(
        "/cimi/addresses",
        headers=json_in,
        json={"addressTemplate": {"href": template.headers["Location"]}},
    )
    associated = mock_client.simulate_put(
        allocated.headers["Location"].removeprefix("http://falconframework.org"),
        headers=json_in,
        json={"resource": {"href": f"{base}/machines/inst1"}},
    )
    expanded = mock_client.simulate_get(
        "/cimi/addresses",
        query_string="$expand=resource,network",
        headers={**AUTH, "Accept": "application/xml"},
    )
    assert b"<cpu>" in expanded.content
    assert b"<networkType>" in expanded.content  # the network inlined too
    for response in (template, allocated, associated, expanded):
        assert response.status_code in (200, 201), response.text
        root = without_resource_uri(response.content)
        assert schema.validate(root), (response.text, schema.error_log)


def test_system_documents_validate(mock_client, schema):
    base = "http://falconframework.org/cimi"
    json_in = {**AUTH, "Content-Type": "application/json", "Accept": "application/xml"}
    xml_out = {**AUTH, "Accept": "application/xml"}
    template = mock_client.simulate_post(
        "/cimi/system_templates",
        headers=json_in,
        json={
            "name": "t",
            "componentDescriptors": [
                {
                    "name": "m",
                    "type": "http://schemas.dmtf.org/cimi/1/Machine",
                    "quantity": 2,
                    "machineTemplate": {
                        "machineConfig": {
                            "href": f"{base}/machine_configurations/m1-small"
                        },
                        "machineImage": {"href": f"{base}/machine_images/img1"},
                    },
                },
                {
                    "type": "http://schemas.dmtf.org/cimi/1/Volume",
                    "volumeTemplate": {"volumeConfig": {"capacity": 1048576}},
                },
            ],
        },
    )
    system = mock_client.simulate_post(
        "/cimi/systems",
        headers=json_in,
        json={"systemTemplate": {"href": f"{base}/system_templates/template1"}},
    )
    url = system.headers["Location"].removeprefix("http://falconframework.org")
    job = system.headers["CIMI-Job-URI"].removeprefix("http://falconframework.org")
    reads = [
        mock_client.simulate_get(path, headers=xml_out)
        for path in (
            "/cimi/system_templates",
            url,
            "/cimi/systems",
            f"{url}/machines",
            f"{url}/volumes",
            f"{url}/systems",
            job,
        )
    ]
    assert b"<nestedJob href=" in reads[-1].content
    nested = etree.fromstring(reads[-1].content).find(f"{{{NS}}}nestedJob").get("href")
    reads.append(
        mock_client.simulate_get(
            nested.removeprefix("http://falconframework.org"), headers=xml_out
        )
    )
    assert b"<parentJob href=" in reads[-1].content
    assert b"<SystemMachine>" in reads[3].content
    for response in (template, system, *reads):
        assert response.status_code in (200, 201), response.text
        root = without_resource_uri(response.content)
        assert schema.validate(root), (response.text, schema.error_log)
