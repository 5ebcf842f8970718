"""Systems in-process, on a mock cloud whose clock moves when told: what
happens between a system's calls (a client acting meanwhile, a component
still being made, a machine acted on before its job is read)."""

from __future__ import annotations

from dataclasses import dataclass

import falcon.testing
import pytest

from gateway import config
from gateway.app import create_app
from gateway.store import Store
from providers.mock import MockProvider
from tests.providers.test_mock import DELAY
from tests.providers.test_mock import Clock
from tests.resources.conftest import AUTH

HOST = "http://falconframework.org"
BASE = f"{HOST}/cimi"
NS = "http://schemas.dmtf.org/cimi/1"
GIB = 1024 * 1024
JSON = {**AUTH, "Accept": "application/json"}
MACHINE = {
    "type": f"{NS}/Machine",
    "machineTemplate": {
        "machineConfig": {"href": f"{BASE}/machine_configurations/m1-small"},
        "machineImage": {"href": f"{BASE}/machine_images/img1"},
    },
}
VOLUME = {"type": f"{NS}/Volume", "volumeTemplate": {"volumeConfig": {"capacity": GIB}}}


@dataclass
class Slow:
    client: falcon.testing.TestClient
    clock: Clock
    mock: MockProvider

    def get(self, url: str) -> falcon.testing.Result:
        return self.client.simulate_get(url.removeprefix(HOST), headers=JSON)

    def post(self, url: str, body: dict) -> falcon.testing.Result:
        return self.client.simulate_post(
            url.removeprefix(HOST), headers=JSON, json=body
        )

    def job(self, answer: falcon.testing.Result) -> dict:
        return self.get(answer.headers["CIMI-Job-URI"]).json

    def settle(self, answer: falcon.testing.Result, rounds: int = 8) -> dict:
        """Move the clock on and read the job until it is over."""
        for _ in range(rounds):
            job = self.job(answer)
            if job["status"] != "RUNNING":
                return job
            self.clock.advance(DELAY)
        return self.job(answer)


@pytest.fixture
def slow(tmp_path) -> Slow:
    loaded = config.parse(
        f'[store]\npath = "{tmp_path}/s.sqlite3"\n'
        '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\n'
    )
    store = Store(loaded.store_url)
    mock = MockProvider("mock", {"delay": DELAY}, store)
    clock = mock.clock = Clock()
    app = create_app(loaded, providers={"mock": mock}, store=store)
    return Slow(falcon.testing.TestClient(app), clock, mock)


def system(*descriptors: dict, **body) -> dict:
    return {"systemTemplate": {"componentDescriptors": list(descriptors)}, **body}


def test_a_client_acting_while_a_system_is_made_loses_nothing(slow, monkeypatch):
    answers = {}
    made = slow.mock.create_machine

    def meanwhile(creds, spec):
        # The client, while the create request is still making machines.
        if not answers:
            url = f"/cimi/systems/{only_system(slow)}"
            answers["delete"] = slow.client.simulate_delete(url, headers=JSON)
            answers["edit"] = slow.client.simulate_put(
                url, headers=JSON, json={"name": "renamed"}
            )
        return made(creds, spec)

    monkeypatch.setattr(slow.mock, "create_machine", meanwhile)
    created = slow.post(f"{BASE}/systems", system({**MACHINE, "quantity": 2}))

    assert created.status_code == 201, created.text
    assert answers["delete"].status_code == 409  # not while it is being made
    assert answers["edit"].status_code == 200
    shown = slow.get(created.headers["Location"]).json
    assert shown["name"] == "renamed"  # the create's own writes kept the edit
    machines = slow.get(shown["machines"]["href"]).json["systemMachines"]
    assert len(machines) == 2


def only_system(slow: Slow) -> str:
    (record,) = slow.get(f"{BASE}/systems").json["systems"]
    return record["id"].rsplit("/", 1)[1]


def test_a_component_a_client_deletes_does_not_undo_the_system(slow):
    created = slow.post(f"{BASE}/systems", system({**MACHINE, "quantity": 2}, VOLUME))
    machines = slow.get(created.json["machines"]["href"]).json["systemMachines"]
    doomed = machines[0]["machine"]["href"]

    assert (
        slow.client.simulate_delete(doomed.removeprefix(HOST), headers=JSON).status_code
        == 202
    )
    job = slow.settle(created)

    assert job["status"] == "SUCCESS", job.get("statusMessage")
    kept = machines[1]["machine"]["href"]
    assert slow.get(kept).status_code == 200
    assert slow.get(created.headers["Location"]).status_code == 200


def test_a_volume_still_being_made_is_deleted_once_made(slow):
    created = slow.post(f"{BASE}/systems", system(VOLUME))
    volume = slow.get(created.json["volumes"]["href"]).json["systemVolumes"][0]
    assert slow.get(volume["volume"]["href"]).json["state"] == "CREATING"

    deleted = slow.client.simulate_delete(
        created.headers["Location"].removeprefix(HOST), headers=JSON
    )
    assert deleted.status_code == 202, deleted.text
    again = slow.client.simulate_delete(
        created.headers["Location"].removeprefix(HOST), headers=JSON
    )
    assert again.headers["CIMI-Job-URI"] == deleted.headers["CIMI-Job-URI"]
    job = slow.settle(deleted)

    assert job["status"] == "SUCCESS", job.get("statusMessage")
    assert slow.get(volume["volume"]["href"]).status_code == 404
    assert slow.get(created.headers["Location"]).status_code == 404


def test_a_machine_acted_on_before_its_job_is_read_still_gets_its_volumes(slow):
    volume = slow.post(
        f"{BASE}/volumes", {"volumeTemplate": {"volumeConfig": {"capacity": GIB}}}
    )
    slow.clock.advance(DELAY)
    template = {
        **MACHINE["machineTemplate"],
        "volumes": [{"href": volume.headers["Location"]}],
    }
    created = slow.post(f"{BASE}/machines", {"machineTemplate": template})
    slow.clock.advance(DELAY)
    # A stop looks at the machine first, settling its jobs by what it sees.
    stopped = slow.post(
        f"{created.headers['Location']}/stop", {"action": f"{NS}/action/stop"}
    )
    assert stopped.status_code == 202, stopped.text

    job = slow.settle(created)

    assert job["status"] == "SUCCESS", job.get("statusMessage")
    assert len(job["nestedJobs"]) == 2
    attached = slow.get(f"{created.headers['Location']}/volumes").json
    assert volume.headers["Location"] in {
        a["volume"]["href"] for a in attached["machineVolumes"]
    }


@pytest.mark.parametrize(
    ("descriptor", "words"),
    [
        (
            {
                **MACHINE,
                "machineTemplate": {
                    **MACHINE["machineTemplate"],
                    "machineConfig": {"href": "#k"},
                },
            },
            "only a machine's credential and volumes",
        ),
        ({**MACHINE, "type": "http://elsewhere.example/Machine"}, "type"),
    ],
    ids=["component-config", "foreign-type"],
)
def test_what_only_a_machine_may_name_is_refused(slow, descriptor, words):
    for url in (f"{BASE}/systems", f"{BASE}/system_templates"):
        body = system(descriptor)
        refused = slow.post(
            url, body if url.endswith("systems") else body["systemTemplate"]
        )
        assert refused.status_code == 400, refused.text
        assert words in refused.json["message"]


def test_a_template_nesting_too_many_is_refused_before_it_costs_much(slow):
    wide = slow.post(
        f"{BASE}/system_templates",
        {"componentDescriptors": [{**VOLUME, "quantity": 20}]},
    )
    assert wide.status_code == 201, wide.text
    nested = {
        "type": f"{NS}/System",
        "systemTemplate": {"href": wide.headers["Location"]},
    }

    refused = slow.post(f"{BASE}/systems", system({**nested, "quantity": 2}))

    assert refused.status_code == 400
    assert "more than 32 components" in refused.json["message"]


def test_a_missing_system_is_no_member(slow):
    created = slow.post(f"{BASE}/systems", system(VOLUME))
    nothing = slow.post(
        created.json["systems"]["href"], {"system": {"href": f"{BASE}/systems/nope"}}
    )
    assert nothing.status_code == 400, nothing.text


def test_a_component_failing_later_fails_the_create_and_undoes_only_what_it_made(
    slow, monkeypatch
):
    created = slow.post(f"{BASE}/systems", system(MACHINE, VOLUME))
    url = created.headers["Location"]
    machine = slow.get(f"{url}/machines").json["systemMachines"][0]["machine"]["href"]
    # The client's own volume, put in the system while it is made.
    put_in = slow.post(f"{url}/volumes", {"volume": {"href": f"{BASE}/volumes/vol1"}})
    assert put_in.status_code == 201, put_in.text
    seen = slow.mock.get_machine

    def broken(creds, machine_id):
        found = seen(creds, machine_id)
        return {**found, "state": "ERROR"} if machine.endswith(machine_id) else found

    monkeypatch.setattr(slow.mock, "get_machine", broken)
    job = slow.job(created)

    assert job["status"] == "FAILED"
    assert machine.rsplit("/", 1)[1] in job["statusMessage"]
    assert "undone by job" in job["statusMessage"]
    monkeypatch.setattr(slow.mock, "get_machine", seen)
    for _ in range(8):
        slow.clock.advance(DELAY)
        if slow.get(url).status_code == 404:
            break
    assert slow.get(url).status_code == 404
    assert slow.get(f"{BASE}/volumes/vol1").status_code == 200  # not the system's
    assert slow.job(created)["status"] == "FAILED"  # and stays so


def test_one_delete_at_a_time_and_none_of_what_is_gone(slow):
    created = slow.post(f"{BASE}/systems", system(MACHINE))
    url = created.headers["Location"].removeprefix(HOST)

    first = slow.client.simulate_delete(url, headers=JSON)
    second = slow.client.simulate_delete(url, headers=JSON)

    assert first.status_code == 202
    assert second.headers.get("CIMI-Job-URI") == first.headers["CIMI-Job-URI"]
    # Done at the cloud, unread: the next DELETE's own read finishes it.
    slow.clock.advance(DELAY * 3)
    assert slow.client.simulate_delete(url, headers=JSON).status_code == 404
    assert slow.job(first)["status"] == "SUCCESS"
