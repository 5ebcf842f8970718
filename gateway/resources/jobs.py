"""``{mount}/jobs``: what the cloud is doing, newest first."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import falcon

from gateway.cimi.errors import CimiError
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_uri
from gateway.jobs import Jobs
from gateway.jobs import Lookup
from gateway.resources.expansion import readers
from gateway.resources.expansion import resolver
from gateway.resources.links import Links
from gateway.resources.mount import Mount
from providers.base import CAPTURE
from providers.base import Credentials
from providers.base import Provider

#: the collections a job's target can be in, by path.
TARGETS: dict[str, ResourceType] = {t.path: t for t in (MACHINE, MACHINE_IMAGE)}


def lookup(provider: Provider, creds: Credentials) -> Lookup:
    """Return how to read a job target's state on ``provider``."""
    read = readers(provider, creds)

    def state(path: str, id: str) -> str | None:
        reader = read.get(TARGETS[path])
        try:
            return reader(id)["state"] if reader is not None else None
        except NotFound:
            return None

    return state


def job_values(links: Links, job: dict) -> dict:
    """Return a stored job as Job values with hrefs."""
    target = None
    if job["target"]:
        path, id = job["target"]
        target = links.item(TARGETS[path], id)
    return {
        "id": job["id"],
        "created": datetime.fromisoformat(job["created"]),
        "targetResource": target,
        "action": job["action"],
        "status": job["status"],
        "returnCode": job["returnCode"],
        "progress": job["progress"],
        "statusMessage": job["statusMessage"],
        "timeOfStatusChange": datetime.fromisoformat(job["changed"]),
        "isCancellable": False,
    }


def answer_with_job(
    resp: falcon.Response, links: Links, job: dict, status: str = falcon.HTTP_202
) -> None:
    """Answer with ``job``: its URL in ``CIMI-Job-URI``, and as the body."""
    resp.set_header("CIMI-Job-URI", links.item_of_job(job))
    resp.status = status
    resp.media = links.document(JOB, job_values(links, job))


def record_capture(jobs: Jobs, namespace: str, image: dict) -> dict:
    """Record the job of a capture: it ends when the new image is AVAILABLE."""
    return jobs.record(
        namespace,
        action_uri(CAPTURE),
        (MACHINE_IMAGE.path, image["id"]),
        "AVAILABLE",
        state=image["state"],
    )


@contextlib.contextmanager
def failed_job(
    resp: falcon.Response,
    links: Links,
    jobs: Jobs,
    namespace: str,
    action: str,
    target: tuple[str, str] | None,
    expect: str = "",
) -> Iterator[None]:
    """Leave a FAILED job behind when the cloud fails the call in the block.

    The error still reaches the client, with the job's ``CIMI-Job-URI``. A
    refusal of the client's own making (4xx) leaves no job: nothing was done.
    """
    try:
        yield
    except CimiError as ex:
        if ex.status >= 500:
            job = jobs.record(namespace, action_uri(action), target, expect, failure=ex)
            resp.set_header("CIMI-Job-URI", links.item_of_job(job))
        raise


class JobsResource:
    """The jobs of one provider's tenant."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider = mount.provider
        self.jobs = mount.jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds = req.context.credentials
        links = self.mount.links(req)
        jobs = self.jobs.list(self.mount.namespace(creds), lookup(self.provider, creds))
        resp.media = links.collection_document(
            JOB,
            [job_values(links, job) for job in jobs],
            can_add=False,
            resolve=resolver(links, self.mount, creds),
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds = req.context.credentials
        job = self.jobs.get(
            self.mount.namespace(creds), id, lookup(self.provider, creds)
        )
        if job is None:
            raise NotFound(f"no job {id}")
        links = self.mount.links(req)
        resp.media = links.shown(
            JOB, job_values(links, job), resolver(links, self.mount, creds)
        )
