"""``{mount}/jobs``: what the cloud is doing, newest first."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import quote
from urllib.parse import unquote

import falcon

from gateway.cimi.errors import CimiError
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_VOLUME
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import VOLUME_IMAGE
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_uri
from gateway.jobs import Advance
from gateway.jobs import Jobs
from gateway.jobs import Lookup
from gateway.resources.expansion import readers
from gateway.resources.expansion import resolver
from gateway.resources.links import Links
from gateway.resources.mount import Mount
from providers.base import CAPTURE
from providers.base import Credentials
from providers.base import Provider
from providers.families import ServesMachineVolumes

#: the collections a job's target can be in, by path.
TARGETS: dict[str, ResourceType] = {
    t.path: t for t in (MACHINE, MACHINE_IMAGE, VOLUME, VOLUME_IMAGE)
}


def machine_volumes_path(machine_id: str) -> str:
    """Return the path of a machine's MachineVolume collection, as jobs keep it."""
    return f"{MACHINE.path}/{quote(machine_id, safe='')}/{MACHINE_VOLUME.path}"


def _machine_of(path: str) -> str | None:
    """Return the machine whose volumes ``path`` is, if it is such a path."""
    head, machine, tail = (path.split("/") + ["", ""])[:3]
    if head == MACHINE.path and tail == MACHINE_VOLUME.path and machine:
        return unquote(machine)
    return None


def lookup(provider: Provider, creds: Credentials) -> Lookup:
    """Return how to read a job target's state on ``provider``."""
    read = readers(provider, creds)

    def state(path: str, id: str) -> str | None:
        reader = read.get(TARGETS[path]) if path in TARGETS else None
        machine = _machine_of(path)
        if machine is not None and isinstance(provider, ServesMachineVolumes):
            reader = functools.partial(provider.get_machine_volume, creds, machine)
        try:
            return reader(id)["state"] if reader is not None else None
        except NotFound:
            return None

    return state


def target_url(links: Links, path: str, id: str) -> str:
    """Return the URL of a job's target: ``path`` (quoted) and id under the mount."""
    return f"{links.base_uri}{path}/{quote(id, safe='')}"


def job_values(links: Links, job: dict) -> dict:
    """Return a stored job as Job values with hrefs."""
    target = None
    if job["target"]:
        target = target_url(links, *job["target"])
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
        "parentJob": links.item(JOB, job["parent"]) if job.get("parent") else None,
        "nestedJob": [{"href": links.item(JOB, n)} for n in job.get("nested") or ()],
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

    def __init__(
        self,
        mount: Mount,
        advancer: Callable[[Mount, Links, Credentials], Advance] | None = None,
    ) -> None:
        self.mount = mount
        self.provider = mount.provider
        self.jobs = mount.jobs
        self.advancer = advancer

    def _advance(self, links: Links, creds: Credentials) -> Advance | None:
        return self.advancer(self.mount, links, creds) if self.advancer else None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds = req.context.credentials
        links = self.mount.links(req)
        jobs = self.jobs.list(
            self.mount.namespace(creds),
            lookup(self.provider, creds),
            self._advance(links, creds),
        )
        resp.media = links.collection_document(
            JOB,
            [job_values(links, job) for job in jobs],
            can_add=False,
            resolve=resolver(links, self.mount, creds),
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        job = self.jobs.get(
            self.mount.namespace(creds),
            id,
            lookup(self.provider, creds),
            self._advance(links, creds),
        )
        if job is None:
            raise NotFound(f"no job {id}")
        resp.media = links.shown(
            JOB, job_values(links, job), resolver(links, self.mount, creds)
        )
