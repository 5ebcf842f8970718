"""Jobs follow their target's state as the cloud reports it, when read.

Every test runs on SQLite and on PostgreSQL (``store_url``): a job's settling
is a compare-and-swap on its record, which each backend must honour.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import ProviderTimeout
from gateway.jobs import GONE
from gateway.jobs import Jobs
from gateway.jobs import new_id

NS = "mock:tenant"


@pytest.fixture
def jobs(open_store) -> Jobs:
    return Jobs(open_store(), timedelta(hours=1))


def cloud(states: dict):
    """A lookup answering from ``states``; a missing target is gone."""

    def lookup(path: str, id: str) -> str | None:
        state = states[(path, id)]
        if isinstance(state, Exception):
            raise state
        return state

    return lookup


@pytest.mark.parametrize(
    ("expect", "state", "status", "code"),
    [
        ("STARTED", "CREATING", "RUNNING", None),
        ("STARTED", "STARTED", "SUCCESS", 0),
        ("STOPPED", "STOPPING", "RUNNING", None),
        ("STOPPED", "STOPPED", "SUCCESS", 0),
        ("STARTED", "ERROR", "FAILED", 500),
        (GONE, "DELETING", "RUNNING", None),
        (GONE, None, "SUCCESS", 0),
        ("AVAILABLE", None, "FAILED", 410),
    ],
)
def test_status_follows_the_target(jobs, expect, state, status, code):
    job = jobs.record(NS, "act", ("machines", "m"), expect)

    seen = jobs.get(NS, job["id"], cloud({("machines", "m"): state}))

    assert (seen["status"], seen["returnCode"]) == (status, code)
    assert seen["progress"] == (100 if status != "RUNNING" else 0)


def test_a_settled_job_stays_settled(jobs):
    job = jobs.record(NS, "act", ("machines", "m"), "STOPPED")
    jobs.get(NS, job["id"], cloud({("machines", "m"): "STOPPED"}))

    later = jobs.get(NS, job["id"], cloud({("machines", "m"): "STARTED"}))

    assert later["status"] == "SUCCESS"


def test_a_cloud_that_cannot_answer_leaves_the_job_running(jobs):
    job = jobs.record(NS, "act", ("machines", "m"), "STOPPED")

    seen = jobs.get(NS, job["id"], cloud({("machines", "m"): ProviderTimeout("slow")}))

    assert seen["status"] == "RUNNING"


def test_a_failed_call_leaves_a_failed_job(jobs):
    job = jobs.record(
        NS, "add", None, "STARTED", failure=ProviderFailed("InsufficientCapacity")
    )

    assert job["status"] == "FAILED"
    assert job["statusMessage"] == "InsufficientCapacity"
    assert job["returnCode"] == 502
    assert jobs.get(NS, job["id"], cloud({}))["status"] == "FAILED"


def test_newest_first_per_tenant_and_expired_ones_dropped(open_store):
    store = open_store()
    keep = Jobs(store, timedelta(hours=1))
    first = keep.record(NS, "a", ("machines", "m"), GONE)
    second = keep.record(NS, "b", ("machines", "m"), GONE)
    keep.record("other:tenant", "c", ("machines", "m"), GONE)
    lookup = cloud({("machines", "m"): "DELETING"})

    assert [j["id"] for j in keep.list(NS, lookup)] == [second["id"], first["id"]]

    expire = Jobs(store, timedelta(seconds=-1))
    assert expire.list(NS, lookup) == []
    assert expire.get(NS, first["id"], lookup) is None


def test_a_target_already_there_settles_the_job_at_once(jobs):
    job = jobs.record(NS, "act", ("machines", "m"), "STOPPED", state="STOPPED")

    assert job["status"] == "SUCCESS"
    assert jobs.get(NS, job["id"], cloud({}))["status"] == "SUCCESS"


def test_observing_a_target_settles_only_its_own_running_jobs(jobs):
    stop = jobs.record(NS, "stop", ("machines", "m"), "STOPPED")
    other = jobs.record(NS, "stop", ("machines", "n"), "STOPPED")
    busy = jobs.record(NS, "start", ("machines", "m"), "STARTED")

    jobs.observe(NS, ("machines", "m"), "STOPPED")

    still = cloud({("machines", "m"): "STARTING", ("machines", "n"): "STOPPING"})
    assert jobs.get(NS, stop["id"], still)["status"] == "SUCCESS"
    assert jobs.get(NS, other["id"], still)["status"] == "RUNNING"
    assert jobs.get(NS, busy["id"], still)["status"] == "RUNNING"


def test_a_slow_read_never_unsettles_a_job_settled_meanwhile(jobs):
    job = jobs.record(NS, "stop", ("machines", "m"), "STOPPED")

    def slow_lookup(path: str, id: str) -> str | None:
        # While this read waits on the cloud, a later action settles the job,
        # then the machine is deleted.
        jobs.observe(NS, ("machines", "m"), "STOPPED")
        return None

    seen = jobs.get(NS, job["id"], slow_lookup)

    assert seen["status"] == "SUCCESS"
    assert (
        jobs.get(NS, job["id"], cloud({("machines", "m"): None}))["status"] == "SUCCESS"
    )


# -- parent jobs: nested jobs, phases, undo ---------------------------------------


def _parent(jobs: Jobs, targets: list[str], **kwargs) -> dict:
    parent = new_id()
    nested = [
        jobs.record(NS, "add", ("machines", t), "STARTED", parent=parent)["id"]
        for t in targets
    ]
    return jobs.record(
        NS, "add", ("systems", "s"), "", job_id=parent, nested=nested, **kwargs
    )


def test_a_parent_job_follows_its_nested_jobs(jobs):
    states = {("machines", "a"): "CREATING", ("machines", "b"): "CREATING"}
    parent = _parent(jobs, ["a", "b"])

    assert jobs.get(NS, parent["id"], cloud(states))["status"] == "RUNNING"
    states[("machines", "a")] = "STARTED"
    halfway = jobs.get(NS, parent["id"], cloud(states))
    assert (halfway["status"], halfway["progress"]) == ("RUNNING", 50)
    states[("machines", "b")] = "STARTED"
    done = jobs.get(NS, parent["id"], cloud(states))
    assert (done["status"], done["progress"]) == ("SUCCESS", 100)
    child = jobs.get(NS, parent["nested"][0], cloud(states))
    assert child["parent"] == parent["id"]


def test_a_parent_job_fails_naming_the_failed_component_and_undoes(jobs):
    states = {("machines", "a"): "STARTED", ("machines", "b"): "ERROR"}
    undone = []

    def advance(job, phase):
        undone.append((job["id"], phase))
        return ["undo-job"]

    parent = _parent(jobs, ["a", "b"], undo={"op": "delete"})
    # A reader who cannot undo leaves it running for one who can.
    assert jobs.get(NS, parent["id"], cloud(states))["status"] == "RUNNING"
    failed = jobs.get(NS, parent["id"], cloud(states), advance)

    assert failed["status"] == "FAILED"
    assert failed["statusMessage"].startswith("machines/b: the target went into ERROR")
    assert "undone by job undo-job" in failed["statusMessage"]
    assert undone == [(parent["id"], [{"op": "delete"}])]
    # Settled once: read again, nothing is undone twice.
    jobs.get(NS, parent["id"], cloud(states), advance)
    assert len(undone) == 1


def test_phases_start_in_order_each_once_when_the_one_before_is_done(jobs):
    states = {("machines", "a"): "DELETING"}
    started = []

    def advance(job, phase):
        started.append(phase)
        if phase == ["second"]:
            return []
        child = jobs.record(NS, "delete", ("volumes", "v"), GONE, parent=job["id"])
        return [child["id"]]

    parent = _parent(jobs, ["a"], steps=[["first"], ["second"]])
    lookup = cloud(states | {("volumes", "v"): "DELETING"})
    assert jobs.get(NS, parent["id"], lookup, advance)["status"] == "RUNNING"
    assert started == []

    states[("machines", "a")] = "STARTED"
    lookup = cloud(states | {("volumes", "v"): "DELETING"})
    assert jobs.get(NS, parent["id"], lookup, advance)["status"] == "RUNNING"
    assert jobs.get(NS, parent["id"], lookup, advance)["status"] == "RUNNING"
    assert started == [["first"]]  # once, however often it is read

    done = jobs.get(NS, parent["id"], cloud(states | {("volumes", "v"): None}), advance)
    assert started == [["first"], ["second"]]
    assert done["status"] == "SUCCESS" and len(done["nested"]) == 2


def test_a_phase_another_worker_claimed_is_not_started_again(jobs):
    states = {("machines", "a"): "STARTED"}
    parent = _parent(jobs, ["a"], steps=[["only"]])
    stored = jobs.store.get(NS, "job", parent["id"])
    claimed = {**stored, "claimed": "2999-01-01T00:00:00+00:00"}
    jobs.store.replace(NS, "job", parent["id"], claimed, expected=stored)

    seen = jobs.get(NS, parent["id"], cloud(states), lambda job, phase: pytest.fail())

    assert seen["status"] == "RUNNING"


def test_a_cancelled_or_forgotten_nested_job_is_over_not_failed(jobs):
    states = {("machines", "a"): "CREATING", ("machines", "b"): "STARTED"}
    parent = _parent(jobs, ["a", "b"], undo={"op": "delete"})
    # A client deleted machine a: its job is cancelled, not failed.
    jobs.cancel(NS, ("machines", "a"), "deleted meanwhile")
    jobs.store.remove(NS, "job", parent["nested"][1])  # past the retention

    seen = jobs.get(NS, parent["id"], cloud(states), lambda job, phase: pytest.fail())

    assert seen["status"] == "SUCCESS"
