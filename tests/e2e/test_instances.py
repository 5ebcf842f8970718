"""Several gateway instances on one store lose nothing (issue 11).

Two ``cimi-gateway serve`` processes of two workers each share one store: a
PostgreSQL database of their own, or one SQLite file. Both have the same
``public_url`` and every client sends its host, as behind a balancer, so an
href or an ETag is the same whichever instance answers. Eight clients run a
seeded mix of template and machine writes, actions and reads, each request
going to the other instance than the client's last one; everything a gateway
acknowledged is then checked through both instances.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from gateway.store import url_for_path
from tests.e2e.conftest import MOCK_AUTH
from tests.e2e.gunicorn import Gateway
from tests.e2e.gunicorn import start_instances
from tests.e2e.gunicorn import stop_all
from tests.support.moto import FIXTURE_AMI
from tests.support.moto import KEY
from tests.support.moto import SECRET
from tests.support.postgres import new_database

PUBLIC_URL = "http://cimi.example"
NS = "http://schemas.dmtf.org/cimi/1"
ACTION = f"{NS}/action/"
CLIENTS = 8
#: operations per client; each is one to three requests.
OPERATIONS = 100
#: where every client stops and edits one template from one read, together.
RACE_ROUNDS = (20, 40)
SEED = 11
#: seconds a mock machine takes to change state: jobs really run first.
DELAY = 0.2
FINAL = ("SUCCESS", "FAILED", "CANCELLED")
SEEDED_MACHINES = {"inst0", "inst1", "inst2", "inst3"}
MOCK = f'[providers.mock]\ndriver = "mock"\nmount = "/cimi"\ndelay = {DELAY}\n'


@pytest.fixture(params=["postgresql", "sqlite"])
def shared_store(request, tmp_path) -> str:
    """Return the ``[store] url`` of a new, empty store for two gateways."""
    if request.param == "sqlite":
        return url_for_path(str(tmp_path / "shared.sqlite3"))
    return new_database(request.getfixturevalue("postgres_url"))


def instance_configs(
    folder: Path, store_url: str, provider: str, *, listing_seconds: int = 3
) -> list[Path]:
    """Write two configs alike but for their file (each instance logs beside
    its own): one store, one public URL, one cloud."""
    text = (
        f'[server]\npublic_url = "{PUBLIC_URL}"\n'
        f'[store]\nurl = "{store_url}"\n'
        f"[cache]\nlisting_seconds = {listing_seconds}\n{provider}"
    )
    paths = [folder / "a.toml", folder / "b.toml"]
    for path in paths:
        path.write_text(text)
    return paths


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def mock_store(request, tmp_path_factory) -> str:
    """Return the ``[store] url`` of a new store for the mock's two gateways,
    which this module's mock tests share (starting two pairs per test cost
    most of their time); each test reads only what it made."""
    if request.param == "sqlite":
        return url_for_path(str(tmp_path_factory.mktemp("pair") / "shared.sqlite3"))
    return new_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def instances(mock_store, tmp_path_factory) -> Iterator[list[Gateway]]:
    """Two gateways of two workers on one store, in front of the mock cloud."""
    folder = tmp_path_factory.mktemp("instances")
    gateways = start_instances(instance_configs(folder, mock_store, MOCK))
    yield gateways
    stop_all(gateways)


def session(auth: tuple[str, str] = MOCK_AUTH) -> requests.Session:
    """Return a client of the instances: JSON, and the public URL's host."""
    client = requests.Session()
    client.auth = auth
    client.headers.update({"Accept": "application/json", "Host": "cimi.example"})
    return client


@pytest.fixture
def clients() -> Iterator[Callable[..., requests.Session]]:
    """Return a maker of sessions, closed after the test: a keep-alive
    connection left open holds each gateway's stop up by two seconds.

    Asked for after the gateways, so torn down before they are stopped.
    """
    opened: list[requests.Session] = []

    def make(auth: tuple[str, str] = MOCK_AUTH) -> requests.Session:
        opened.append(session(auth))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


def path(href: str) -> str:
    """Return an href's path: the same resource on either instance."""
    return urlsplit(href).path


def ids(listing: dict, key: str) -> list[str]:
    return [path(member["id"]) for member in listing.get(key, [])]


# -- what the clients were told -----------------------------------------------


@dataclass
class Tally:
    """Every answer the clients got, and what the acknowledged ones promise."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    conflicts: int = 0
    #: answers no client should get (any 5xx among them), as text.
    unexpected: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)  # not deleted yet
    created_templates: list[str] = field(default_factory=list)
    deleted_templates: set[str] = field(default_factory=set)
    #: If-Match edits acknowledged, per template: its counter must agree.
    counted_edits: Counter[str] = field(default_factory=Counter)
    machines: list[str] = field(default_factory=list)
    created_machines: list[str] = field(default_factory=list)
    deleted_machines: set[str] = field(default_factory=set)
    jobs: list[str] = field(default_factory=list)
    #: the final (status, timeOfStatusChange) each job was seen in.
    finals: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    #: each race round's statuses.
    races: list[list[int]] = field(default_factory=list)


def counter_of(template: dict) -> int:
    """Return the edit counter a template's description holds (``n=3``)."""
    return int(template["description"].removeprefix("n="))


class Client:
    """One client thread's moves, each request to the other instance."""

    def __init__(
        self,
        number: int,
        gateways: list[Gateway],
        tally: Tally,
        meet: threading.Barrier,
    ) -> None:
        self.rng = random.Random(SEED * 100 + number)
        self.gateways = gateways
        self.tally = tally
        self.meet = meet
        self.turn = number
        self.http = session()

    def call(
        self, method: str, where: str, allowed: tuple[int, ...], **kwargs: object
    ) -> requests.Response:
        base = self.gateways[self.turn % len(self.gateways)].url
        self.turn += 1
        answer = self.http.request(method, base + where, timeout=60, **kwargs)  # type: ignore[arg-type]
        with self.tally.lock:
            self.tally.requests += 1
            self.tally.statuses[answer.status_code] += 1
            if answer.status_code not in allowed:
                self.tally.unexpected.append(
                    f"{method} {where}: {answer.status_code} {answer.text[:300]}"
                )
        return answer

    def pick(self, pool: list[str], keep: str | None = None) -> str | None:
        with self.tally.lock:
            choices = sorted(set(pool) - {keep})
        return self.rng.choice(choices) if choices else None

    def run(self, hot: str) -> None:
        moves: list[tuple[Callable[[], None], int]] = [
            (self.create_template, 12),
            (self.edit_template, 30),
            (self.rename_template, 6),
            (self.delete_template, 6),
            (self.create_machine, 10),
            (self.act_on_machine, 10),
            (self.edit_machine, 5),
            (self.delete_machine, 6),
            (self.read_job, 10),
            (self.read_listing, 5),
        ]
        self.hot = hot
        try:
            for n in range(OPERATIONS):
                if n in RACE_ROUNDS:
                    self.race(hot)
                move = self.rng.choices(
                    [m for m, _ in moves], weights=[w for _, w in moves]
                )[0]
                move()
        except BaseException:
            self.meet.abort()  # the others stop waiting for this one
            raise
        finally:
            self.http.close()

    # -- templates ------------------------------------------------------------

    def create_template(self) -> None:
        body = {
            "name": f"t-{self.rng.randrange(10**6)}",
            "description": "n=0",
            "machineConfig": {
                "href": f"{PUBLIC_URL}/cimi/machine_configurations/m1-small"
            },
            "machineImage": {"href": f"{PUBLIC_URL}/cimi/machine_images/img1"},
        }
        made = self.call("POST", "/cimi/machine_templates", (201,), json=body)
        if made.status_code == 201:
            with self.tally.lock:
                self.tally.created_templates.append(path(made.headers["Location"]))
                self.tally.templates.append(path(made.headers["Location"]))

    def edit_template(self, where: str | None = None) -> int | None:
        """GET, then PUT the counter read plus one, If-Match what was read."""
        where = where or self.pick(self.tally.templates)
        if where is None:
            return None
        read = self.call("GET", where, (200, 404))
        if read.status_code != 200:
            return None
        edited = self.call(
            "PUT",
            where,
            (200, 404, 412),
            json={"description": f"n={counter_of(read.json()) + 1}"},
            headers={"If-Match": read.headers["ETag"]},
        )
        with self.tally.lock:
            if edited.status_code == 200:
                self.tally.counted_edits[where] += 1
            elif edited.status_code == 412:
                self.tally.conflicts += 1
        return edited.status_code

    def rename_template(self) -> None:
        """PUT without If-Match: lands on the template as the server reads it,
        so it must never undo a counted edit (a lost race is 409)."""
        where = self.pick(self.tally.templates)
        if where is None:
            return
        renamed = self.call(
            "PUT", where, (200, 404, 409), json={"name": f"r-{self.rng.randrange(99)}"}
        )
        if renamed.status_code == 409:
            with self.tally.lock:
                self.tally.conflicts += 1

    def delete_template(self) -> None:
        where = self.pick(self.tally.templates, keep=self.hot)
        if where is None:
            return
        if self.rng.random() < 0.5:
            read = self.call("GET", where, (200, 404))
            if read.status_code != 200:
                return
            gone = self.call(
                "DELETE",
                where,
                (200, 404, 412),
                headers={"If-Match": read.headers["ETag"]},
            )
        else:
            gone = self.call("DELETE", where, (200, 404, 409))
        with self.tally.lock:
            if gone.status_code == 200:
                self.tally.deleted_templates.add(where)
                self.tally.templates.remove(where)
            elif gone.status_code in (409, 412):
                self.tally.conflicts += 1

    def race(self, hot: str) -> None:
        """Every client reads the hot template, then all PUT from that read."""
        self.meet.wait(timeout=60)
        read = self.call("GET", hot, (200,))
        self.meet.wait(timeout=60)
        edited = self.call(
            "PUT",
            hot,
            (200, 412),
            json={"description": f"n={counter_of(read.json()) + 1}"},
            headers={"If-Match": read.headers["ETag"]},
        )
        with self.tally.lock:
            if edited.status_code == 200:
                self.tally.counted_edits[hot] += 1
            elif edited.status_code == 412:
                self.tally.conflicts += 1
            rounds = self.tally.races
            if not rounds or len(rounds[-1]) == CLIENTS:
                rounds.append([])
            rounds[-1].append(edited.status_code)
        self.meet.wait(timeout=60)  # a round ends before the next one's reads

    # -- machines and jobs ------------------------------------------------------

    def job(self, answer: requests.Response) -> None:
        with self.tally.lock:
            self.tally.jobs.append(path(answer.headers["CIMI-Job-URI"]))

    def create_machine(self) -> None:
        body = {
            "name": f"m-{self.rng.randrange(10**6)}",
            "machineTemplate": {
                "machineConfig": {
                    "href": f"{PUBLIC_URL}/cimi/machine_configurations/m1-small"
                },
                "machineImage": {"href": f"{PUBLIC_URL}/cimi/machine_images/img1"},
            },
        }
        made = self.call("POST", "/cimi/machines", (201,), json=body)
        if made.status_code == 201:
            with self.tally.lock:
                self.tally.created_machines.append(path(made.headers["Location"]))
                self.tally.machines.append(path(made.headers["Location"]))
            self.job(made)

    def act_on_machine(self) -> None:
        where = self.pick(self.tally.machines)
        if where is None:
            return
        read = self.call("GET", where, (200, 404))
        if read.status_code != 200:
            return
        offered = {
            op["rel"].removeprefix(ACTION): op["href"]
            for op in read.json().get("operations", [])
            if op["rel"].removeprefix(ACTION) in ("start", "stop", "restart")
        }
        if not offered:
            return  # still being made, or on its way
        action = self.rng.choice(sorted(offered))
        # The state may change between the read and the action: 409.
        acted = self.call(
            "POST",
            path(offered[action]),
            (202, 404, 409),
            json={"resourceURI": f"{NS}/Action", "action": ACTION + action},
        )
        if acted.status_code == 202:
            self.job(acted)

    def edit_machine(self) -> None:
        where = self.pick(self.tally.machines)
        if where is None:
            return
        read = self.call("GET", where, (200, 404))
        if read.status_code != 200:
            return
        self.call(
            "PUT",
            where,
            (200, 404, 409, 412),
            json={"name": f"e-{self.rng.randrange(99)}"},
            headers={"If-Match": read.headers["ETag"]},
        )

    def delete_machine(self) -> None:
        where = self.pick(self.tally.machines)
        if where is None:
            return
        gone = self.call("DELETE", where, (202, 404, 409))
        if gone.status_code == 202:
            with self.tally.lock:
                self.tally.deleted_machines.add(where)
                if where in self.tally.machines:
                    self.tally.machines.remove(where)
            self.job(gone)

    def read_job(self) -> None:
        where = self.pick(self.tally.jobs)
        if where is None:
            return
        read = self.call("GET", where, (200,))
        if read.status_code == 200 and read.json()["status"] in FINAL:
            seen = (read.json()["status"], read.json()["timeOfStatusChange"])
            with self.tally.lock:
                self.tally.finals.setdefault(where, set()).add(seen)

    def read_listing(self) -> None:
        where, key = self.rng.choice(
            [
                ("/cimi/machine_templates", "machineTemplates"),
                ("/cimi/machines", "machines"),
                ("/cimi/jobs", "jobs"),
            ]
        )
        listed = self.call("GET", where, (200,))
        if listed.status_code == 200:
            members = ids(listed.json(), key)
            if len(members) != len(set(members)):
                with self.tally.lock:
                    self.tally.unexpected.append(f"GET {where}: duplicate ids")


# -- the test -----------------------------------------------------------------


def settled(client: requests.Session, where: str, timeout: float = 20) -> dict:
    """Return a job once it is no longer RUNNING (or as it is at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(where, timeout=30).json()
        if job["status"] != "RUNNING" or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_two_instances_lose_nothing(instances, clients, mock_store, request):
    """Everything acknowledged holds, through both instances, after the mix.

    How each check fails, were the gateways wrong: a job settled twice (two
    workers each writing their own end) shows two (status, time) pairs, or
    one instance's differing from the other's; a create answered 201 and not
    kept, or kept under an id another create got, is missing from a listing
    or a duplicate in it; a delete answered and not done is a 200 where 404
    is due; an If-Match edit that overwrote another from the same read
    leaves a counter short of its acknowledged edits (``lost``: a client
    that PUT without If-Match from a stale read made it 22 in a run); a race
    round with two winners, or a loser told 409 or 500, is not ``[200] +
    [412] * 7``; any answer outside each move's expected statuses (a 5xx
    above all) is in ``unexpected``.
    """
    backend = request.node.callspec.params["mock_store"]
    tally = Tally()
    first = clients()
    # What the store held before (the seeds, other tests' machines).
    before = set(ids(first.get(f"{instances[0].url}/cimi/machines").json(), "machines"))
    made = first.post(
        f"{instances[0].url}/cimi/machine_templates",
        json={
            "name": "hot",
            "description": "n=0",
            "machineConfig": {
                "href": f"{PUBLIC_URL}/cimi/machine_configurations/m1-small"
            },
            "machineImage": {"href": f"{PUBLIC_URL}/cimi/machine_images/img1"},
        },
    )
    assert made.status_code == 201, made.text
    hot = path(made.headers["Location"])
    tally.templates.append(hot)
    tally.created_templates.append(hot)
    meet = threading.Barrier(CLIENTS)
    crowd = [Client(n, instances, tally, meet) for n in range(CLIENTS)]
    failures: list[BaseException] = []

    def run(client: Client) -> None:
        try:
            client.run(hot)
        except BaseException as ex:  # reported below, not lost in a thread
            failures.append(ex)

    threads = [threading.Thread(target=run, args=(c,)) for c in crowd]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    a, b = clients(), clients()
    on_a, on_b = instances[0].url, instances[1].url

    # Every job settles, once: what either instance shows now is what any
    # client saw of it once it was over.
    assert len(tally.jobs) == len(set(tally.jobs)), "a job id was handed out twice"
    for where in tally.jobs:
        job = settled(a, on_a + where)
        assert job["status"] in FINAL, job
        other = b.get(on_b + where).json()
        end = (job["status"], job["timeOfStatusChange"])
        assert (other["status"], other["timeOfStatusChange"]) == end, where
        assert tally.finals.get(where, {end}) == {end}, where

    # Every acknowledged machine create exists unless deleted since; every
    # acknowledged delete is gone; no id was given to two creates.
    made_machines = set(tally.created_machines)
    assert len(tally.created_machines) == len(made_machines)
    kept_machines = made_machines - tally.deleted_machines
    for client, base in ((a, on_a), (b, on_b)):
        for where in made_machines:
            expected = 404 if where in tally.deleted_machines else 200
            assert client.get(base + where).status_code == expected, where
        listed = ids(client.get(base + "/cimi/machines").json(), "machines")
        assert len(listed) == len(set(listed))
        seeds = {f"/cimi/machines/{id}" for id in SEEDED_MACHINES}
        assert seeds <= before
        assert set(listed) == before | kept_machines

    # Templates likewise, and no edit lost: a template's counter is the
    # number of If-Match edits acknowledged on it (a silent overwrite of one
    # by another read before it would leave it short).
    made_templates = set(tally.created_templates)
    assert len(tally.created_templates) == len(made_templates)
    lost = 0
    for client, base in ((a, on_a), (b, on_b)):
        listed = ids(
            client.get(base + "/cimi/machine_templates").json(), "machineTemplates"
        )
        assert len(listed) == len(set(listed))
        assert set(listed) == made_templates - tally.deleted_templates
        for where in made_templates:
            read = client.get(base + where)
            if where in tally.deleted_templates:
                assert read.status_code == 404, where
                continue
            assert read.status_code == 200, where
            lost += abs(tally.counted_edits[where] - counter_of(read.json()))
    # Of each race round's eight edits from one read, one lands; the rest 412.
    assert [sorted(r) for r in tally.races] == [[200] + [412] * 7] * len(RACE_ROUNDS)

    figures = (
        f"instances[{backend}]: requests={tally.requests} "
        f"statuses={dict(sorted(tally.statuses.items()))} "
        f"conflicts={tally.conflicts} lost={lost} "
        f"templates={len(made_templates)}/-{len(tally.deleted_templates)} "
        f"edits={sum(tally.counted_edits.values())} "
        f"machines={len(made_machines)}/-{len(tally.deleted_machines)} "
        f"jobs={len(tally.jobs)}"
    )
    print(figures)
    assert tally.unexpected == [], figures
    assert not [s for s in tally.statuses if s >= 500], figures
    assert lost == 0, figures


# -- what one instance sees of the other's writes -----------------------------


def machine_create(name: str, config: str, image: str) -> dict:
    return {
        "name": name,
        "machineTemplate": {
            "machineConfig": {
                "href": f"{PUBLIC_URL}/cimi/machine_configurations/{config}"
            },
            "machineImage": {"href": f"{PUBLIC_URL}/cimi/machine_images/{image}"},
        },
    }


def test_a_job_settled_through_one_instance_is_settled_through_the_other(
    instances, clients
):
    (on_a, on_b), a, b = [g.url for g in instances], clients(), clients()
    made = a.post(
        on_a + "/cimi/machines", json=machine_create("settling", "m1-small", "img1")
    )
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "CREATING"
    machine = path(made.headers["Location"])
    created = path(made.headers["CIMI-Job-URI"])

    stopped = None
    for settler, reader, job in ((a, b, created), (b, a, None)):
        if job is None:
            # The other way round: B acts, B settles, A reads.
            stopped = settler.post(
                on_b + machine + "/stop",
                json={"resourceURI": f"{NS}/Action", "action": ACTION + "stop"},
            )
            assert stopped.status_code == 202, stopped.text
            job = path(stopped.headers["CIMI-Job-URI"])
        own, other = (on_a, on_b) if settler is a else (on_b, on_a)
        done = settled(settler, own + job)
        assert done["status"] == "SUCCESS", done
        # timeOfStatusChange has whole seconds: once the next second has
        # begun, a reader that settled the job anew would show its own time.
        time.sleep(1.1)
        seen = reader.get(other + job).json()
        assert (seen["status"], seen["timeOfStatusChange"]) == (
            done["status"],
            done["timeOfStatusChange"],
        )
    assert stopped is not None
    assert b.get(on_a + machine).json()["state"] == "STOPPED"


def test_the_mock_lists_another_instances_write_at_once(instances, clients):
    # The mock's listings are reads of the shared store, never cached.
    (on_a, on_b), a, b = [g.url for g in instances], clients(), clients()
    before = [ids(b.get(on_b + "/cimi/machines").json(), "machines") for _ in range(4)]
    made = a.post(
        on_a + "/cimi/machines", json=machine_create("listed", "m1-small", "img1")
    )
    assert made.status_code == 201
    new = path(made.headers["Location"])

    # Eight reads, each on a new connection (one kept alive stays with one
    # worker): with two workers, both of B's are all but sure to answer.
    after = [
        ids(
            b.get(on_b + "/cimi/machines", headers={"Connection": "close"}).json(),
            "machines",
        )
        for _ in range(8)
    ]

    assert all(new not in listed for listed in before)
    assert all(new in listed for listed in after)


def test_of_machine_edits_from_one_read_one_lands(instances, clients):
    """Eight If-Match edits of one mock machine from one read, through both
    instances: one lands, seven get 412, in every round. The mock's write is
    a compare-and-swap, so the tag is checked against the very record it
    writes over; checked a moment before, two of eight could both land."""
    where = "/cimi/machines/inst1"
    crowd = [clients() for _ in range(CLIENTS)]
    rounds: list[list[int]] = []

    def edit(n: int, label: str, meet: threading.Barrier, seen: list[int]) -> None:
        base = instances[n % 2].url
        read = crowd[n].get(base + where)
        meet.wait(timeout=30)  # every read done before any edit
        edited = crowd[n].put(
            base + where,
            json={"description": f"{label}, client {n}"},
            headers={"If-Match": read.headers["ETag"]},
        )
        seen.append(edited.status_code)

    for round in range(20):
        meet, seen = threading.Barrier(CLIENTS), []
        threads = [
            threading.Thread(target=edit, args=(n, f"round {round}", meet, seen))
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rounds.append(sorted(seen))

    assert rounds == [[200] + [412] * (CLIENTS - 1)] * 20


@pytest.fixture
def ec2_instances(shared_store, moto_reset, tmp_path) -> Iterator[list[Gateway]]:
    """Two gateways on one store in front of moto's EC2, whose listings the
    gateway caches for ``TTL`` seconds; the second of one worker, so its
    cache is one."""
    provider = (
        '[providers.ec2]\ndriver = "ec2"\nmount = "/cimi"\n'
        f'region = "us-east-1"\nendpoint = "{moto_reset}"\n'
    )
    configs = instance_configs(tmp_path, shared_store, provider, listing_seconds=TTL)
    gateways = start_instances(configs[:1])
    try:
        gateways += start_instances(configs[1:], workers=1)
    except BaseException:
        stop_all(gateways)
        raise
    yield gateways
    stop_all(gateways)


#: the listing cache's lifetime in the EC2 instances' config: longer than
#: the default 3 s, since moto takes about 2 s to make and list a machine,
#: and B must read again before its cached listing expires.
TTL = 6
#: what the deadline allows beyond it: a read's own time, a busy machine.
MARGIN = 2


# The cache is per worker and knows no store: one backend is enough.
@pytest.mark.parametrize("shared_store", ["sqlite"], indirect=True)
def test_a_cached_listing_shows_another_instances_write_within_its_ttl(
    ec2_instances, clients
):
    (on_a, on_b), a, b = (
        [g.url for g in ec2_instances],
        clients((KEY, SECRET)),
        clients((KEY, SECRET)),
    )
    warming = time.monotonic()
    assert b.get(on_b + "/cimi/machines").status_code == 200  # now cached in B

    made = a.post(
        on_a + "/cimi/machines", json=machine_create("cached", "t3.micro", FIXTURE_AMI)
    )
    acknowledged = time.monotonic()
    assert made.status_code == 201, made.text
    new = path(made.headers["Location"])
    first = ids(b.get(on_b + "/cimi/machines").json(), "machines")
    if time.monotonic() < warming + TTL:
        # B's listing was cached before A's write and has not expired: the
        # cache is on, and B does not know of A's write.
        assert new not in first

    deadline = acknowledged + TTL + MARGIN
    while new not in ids(b.get(on_b + "/cimi/machines").json(), "machines"):
        assert time.monotonic() < deadline, f"B's listing lacks {new} past its TTL"
        time.sleep(0.2)
