"""The life of a credential (an SSH key pair) over HTTP, on every cloud.

Import a public key, have the cloud generate a pair (its private key shown
once), make a machine with it, delete it; and every refusal, each leaving no
key behind.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from lxml import etree

from tests.e2e.scenario import NS
from tests.e2e.scenario import PUBLIC_KEY
from tests.e2e.scenario import Cloud
from tests.e2e.scenario import create_machine
from tests.e2e.scenario import entry_point
from tests.e2e.scenario import href_of
from tests.support.shared import load_schema
from tests.support.shared import without_resource_uri


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def names(api: requests.Session, cep: dict) -> set[str]:
    listed = api.get(cep["credentials"]["href"]).json()["credentials"]
    return {c["name"] for c in listed}


def test_import_use_and_delete(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    name = unique("imported")

    created = api.post(
        cep["credentials"]["href"],
        json={
            "resourceURI": f"{NS}/CredentialCreate",
            "name": name,
            "credentialTemplate": {"key": f"{PUBLIC_KEY} someone@example"},
        },
    )

    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    assert url == href_of(cep["credentials"], name) == created.json()["id"]
    credential = api.get(url).json()
    # DSP8009's key is hexBinary: the hex of the public key line.
    assert bytes.fromhex(credential["key"]).decode().startswith(PUBLIC_KEY)
    assert credential["properties"]["fingerprint"]
    assert name in names(api, cep)

    twice = api.post(
        cep["credentials"]["href"],
        json={"name": name, "credentialTemplate": {"key": PUBLIC_KEY}},
    )
    assert twice.status_code == 409, twice.text

    machine = create_machine(cloud, api, cep, credential={"href": url})
    api.delete(machine["id"])
    assert api.delete(url).status_code == 200
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404
    assert name not in names(api, cep)


def test_a_generated_private_key_is_shown_once(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    name = unique("generated")

    created = api.post(
        cep["credentials"]["href"],
        headers={"Content-Type": "application/xml", "Accept": "application/xml"},
        data=f'<CredentialCreate xmlns="{NS}"><name>{name}</name></CredentialCreate>',
    )

    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    assert "ETag" not in created.headers  # a tag of a secret matches no read
    root = etree.fromstring(created.content)
    secret = root.find(f"{{{NS}}}property[@name='privateKey']").text
    assert "PRIVATE KEY" in secret
    schema = load_schema()
    assert schema.validate(without_resource_uri(created.content)), schema.error_log
    url = created.headers["Location"]
    try:
        for later in (api.get(url), api.get(cep["credentials"]["href"])):
            assert later.status_code == 200
            assert "privateKey" not in later.text and secret not in later.text
        assert secret.strip().splitlines()[1] not in cloud.gateway.log.read_text()
        machine = create_machine(cloud, api, cep, credential={"href": url})
        api.delete(machine["id"])
    finally:
        api.delete(url)


def test_a_credential_from_a_template(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    template = api.post(
        cep["credentialTemplates"]["href"],
        json={"name": "t", "description": "a key", "key": PUBLIC_KEY.encode().hex()},
    )
    assert template.status_code == 201, template.text
    name = unique("templated")
    try:
        created = api.post(
            cep["credentials"]["href"],
            json={
                "name": name,
                "credentialTemplate": {"href": template.headers["Location"]},
            },
        )
        assert created.status_code == 201, created.text
        assert bytes.fromhex(created.json()["key"]).decode().startswith(PUBLIC_KEY)
        assert api.delete(created.headers["Location"]).status_code == 200
    finally:
        api.delete(template.headers["Location"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            {"credentialTemplate": {"key": "ssh-rsa AAAA"}}, "key", id="short"
        ),
        pytest.param(
            {"credentialTemplate": {"key": "ssh-rsa " + PUBLIC_KEY.split()[1]}},
            "key",
            id="wrong-type-inside",
        ),
        pytest.param({"credentialTemplate": {"key": "hello"}}, "key", id="not-a-key"),
        pytest.param({"credentialTemplate": {"key": "00ff"}}, "key", id="bad-hex"),
        pytest.param({"name": "a b/c"}, "name", id="bad-name"),
        pytest.param(
            {"credentialTemplate": {"href": "http://elsewhere.example/cimi/x/1"}},
            "credentialTemplate",
            id="foreign-template",
        ),
    ],
)
def test_a_bad_credential_is_400_and_makes_nothing(cloud, api, body, words):
    cep = entry_point(cloud, api)
    before = names(api, cep)
    body = {"name": unique("bad"), **body}

    response = api.post(cep["credentials"]["href"], json=body)

    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
    assert names(api, cep) == before


def test_a_machine_naming_no_credential_is_400(cloud, api):
    cep = entry_point(cloud, api)
    response = api.post(
        cep["machines"]["href"],
        json={
            "machineTemplate": {
                "machineConfig": {"href": href_of(cep["machineConfigs"], cloud.config)},
                "machineImage": {"href": href_of(cep["machineImages"], cloud.image)},
                "credential": {"href": href_of(cep["credentials"], "no-such-key")},
            }
        },
    )

    assert response.status_code == 400, response.text
    assert "credential" in response.json()["message"]
