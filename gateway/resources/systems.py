"""``{mount}/systems``: resources made, driven and deleted as one.

Create (from a SystemCreate whose template is referenced or given by value),
read, edit (name, description, properties), delete, and the machine actions
(start, stop, restart, pause, suspend, where the cloud has them) applied to
every machine of the system. Each answers with a parent Job whose nested jobs
are the components' (``system_runs.py`` does the work).

``{mount}/systems/{id}/{machines,volumes,credentials,systems}``: the
components, as SystemMachine, SystemVolume... entries holding the
component's href. Adding an existing resource puts it in the system;
removing an entry takes it out, and leaves the resource as it is.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from urllib.parse import quote

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import PreconditionFailed
from gateway.cimi.schema import ACTION
from gateway.cimi.schema import SYSTEM
from gateway.cimi.schema import SYSTEM_CREATE
from gateway.cimi.schema import SYSTEM_CREDENTIAL
from gateway.cimi.schema import SYSTEM_MACHINE
from gateway.cimi.schema import SYSTEM_NETWORK
from gateway.cimi.schema import SYSTEM_SYSTEM
from gateway.cimi.schema import SYSTEM_VOLUME
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_name
from gateway.conditional import check_if_match
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources.edits import check_read_only
from gateway.resources.jobs import answer_with_job
from gateway.resources.links import Links
from gateway.resources.mount import Mount
from gateway.resources.system_runs import GROUPS
from gateway.resources.system_runs import CreateFailed
from gateway.resources.system_runs import Run
from gateway.resources.system_templates import SYSTEM_TEMPLATES
from gateway.resources.system_templates import plan
from providers.base import DELETE
from providers.base import EDIT
from providers.base import PAUSE
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import SUSPEND
from providers.families import machine_actions

#: the machine actions a system takes, applied to each of its machines.
SYSTEM_ACTIONS = (START, STOP, RESTART, PAUSE, SUSPEND)
_EDITABLE = ("name", "description", "property")
#: each component collection's entry type, and its attribute naming the resource.
ENTRIES: dict[str, tuple[ResourceType, str]] = {
    "systems": (SYSTEM_SYSTEM, "system"),
    "machines": (SYSTEM_MACHINE, "machine"),
    "credentials": (SYSTEM_CREDENTIAL, "credential"),
    "volumes": (SYSTEM_VOLUME, "volume"),
    "networks": (SYSTEM_NETWORK, "network"),
}


class Systems:
    """The systems of one provider's tenant."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount

    def _run(self, req: falcon.Request) -> Run:
        return Run(self.mount, self.mount.links(req), req.context.credentials)

    def _actions(self) -> tuple[str, ...]:
        return tuple(
            a for a in SYSTEM_ACTIONS if a in machine_actions(self.mount.provider)
        )

    def values(
        self,
        run: Run,
        record: dict,
        machine_states: dict[str, str],
        *,
        moving: bool = True,
    ) -> dict:
        """Return a system record as System values (the provider's shape).

        ``moving``: reading it starts its job's next phase when due (not in
        the answer to its create: a cloud's hiccup there is no failed create).
        """
        state = run.state(record, machine_states, moving=moving)
        operations = (EDIT,) if state == "DELETING" else (EDIT, DELETE)
        if state != "DELETING" and not run.creating(record):
            operations += self._actions()
        return {
            "id": record["id"],
            "name": record["name"],
            "description": record["description"],
            "property": record["property"],
            "created": datetime.fromisoformat(record["created"]),
            "updated": datetime.fromisoformat(record["updated"]),
            "state": state,
            "operations": operations,
        }

    def _machine_states(self, run: Run) -> dict[str, str]:
        provider = self.mount.provider
        return {m["id"]: m["state"] for m in provider.list_machines(run.creds)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        run = self._run(req)
        records = run.records()
        states = self._machine_states(run) if records else {}
        # Read once each: reading a system moves its job's phases on.
        shown = [self.values(run, record, states) for record in records]
        # ...which may have finished a delete: what is gone is not listed.
        kept = {record["id"] for record in run.records()}
        resp.media = run.links.collection_document(
            SYSTEM, [s for s in shown if s["id"] in kept], can_add=True
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        run = self._run(req)
        values = self.values(run, run.load(id), self._machine_states(run))
        # The read may have finished a delete: then it is gone.
        run.load(id)
        resp.media = run.links.shown(SYSTEM, values)

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Make a system from a SystemCreate."""
        run = self._run(req)
        values = read(req, SYSTEM_CREATE)
        template = SYSTEM_TEMPLATES.merged(
            self.mount.store,
            run.namespace,
            run.links,
            "systemTemplate",
            values["systemTemplate"],
        )
        made = plan(self.mount, run.links, run.creds, template, values)
        try:
            record, job = run.create(made)
        except CreateFailed as ex:
            resp.set_header("CIMI-Job-URI", run.links.item_of_job(ex.job))
            raise ex.error from ex
        resp.set_header("CIMI-Job-URI", run.links.item_of_job(job))
        resp.status = falcon.HTTP_201
        resp.location = run.links.item(SYSTEM, record["id"])
        resp.media = run.links.document(
            SYSTEM, self.values(run, record, self._machine_states(run), moving=False)
        )

    @forgets_listings
    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        """Edit a system's name, description and properties."""
        run = self._run(req)
        record = run.load(id)
        given = read(req, SYSTEM, read_only=True)
        current = run.links.values(
            SYSTEM, self.values(run, record, self._machine_states(run))
        )
        check_if_match(req, Document(SYSTEM, current))
        check_read_only(run.links, SYSTEM, given, current)
        record = run.load(id)
        edited = {**record, **{k: given[k] for k in _EDITABLE if k in given}}
        edited["updated"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        if not self.mount.store.replace(
            run.namespace, "system", id, edited, expected=record
        ):
            message = f"system {id} changed meanwhile; read it again"
            raise PreconditionFailed(message) if req.if_match else Conflict(message)
        resp.media = run.links.document(
            SYSTEM, self.values(run, edited, self._machine_states(run))
        )

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        """Delete a system's components, then the system."""
        run = self._run(req)
        record = run.load(id)
        values = self.values(run, record, self._machine_states(run))
        check_if_match(req, run.links.document(SYSTEM, values))
        if run.creating(record):
            raise Conflict(f"system {id} is being made: delete it once it is")
        # Asked again while it runs: the same delete's job.
        answer_with_job(resp, run.links, run.delete(record))

    @forgets_listings
    def on_post_action(
        self, req: falcon.Request, resp: falcon.Response, id: str, action: str
    ) -> None:
        """Apply a machine action to every machine of the system."""
        if action not in self._actions():
            raise NotFound(f"systems here have no {action} operation")
        body = read(req, ACTION)
        asked = action_name(body["action"])
        if asked != action:
            raise BadRequest(
                f"action: '{body['action']}' was posted to the {action} operation"
            )
        run = self._run(req)
        record = run.load(id)
        # While its create job runs (a machine may never reach the state its
        # template asked, stopped behind the gateway's back) it may be acted
        # on; not while the request making it, or a delete, is under way.
        state = run.state(record, {})
        if run.creating(record) or state == "DELETING":
            raise Conflict(f"system {id} is {state}: no {action} now")
        job = run.act(record, action, force=bool(body.get("force", False)))
        answer_with_job(resp, run.links, job)


class SystemComponents:
    """One component collection of a system: ``{mount}/systems/{id}/<group>``."""

    def __init__(self, mount: Mount, group: str) -> None:
        self.mount = mount
        self.group = group
        self.entry, self.attr = ENTRIES[group]
        self.rtype = GROUPS[group]

    def _url(self, links: Links, system_id: str) -> str:
        return f"{links.item(SYSTEM, system_id)}/{self.group}"

    def _entry(self, links: Links, system_id: str, component: str) -> dict:
        url = f"{self._url(links, system_id)}/{quote(component, safe='')}"
        return {
            "id": url,
            "name": component,
            self.attr: {"href": links.item(self.rtype, component)},
            "operation": [(DELETE, url)],
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        run = Run(self.mount, self.mount.links(req), req.context.credentials)
        record = run.load(id)
        links = run.links
        resp.media = links.collection_document(
            self.entry,
            record["components"].get(self.group, []),
            can_add=True,
            url=self._url(links, id),
            link=lambda component: self._entry(links, id, component),
        )

    def on_get_item(
        self, req: falcon.Request, resp: falcon.Response, id: str, component: str
    ) -> None:
        run = Run(self.mount, self.mount.links(req), req.context.credentials)
        if component not in run.load(id)["components"].get(self.group, []):
            raise NotFound(f"system {id} has no {self.attr} {component}")
        resp.media = run.links.shown_values(
            self.entry, self._entry(run.links, id, component)
        )

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        """Put an existing resource in the system."""
        run = Run(self.mount, self.mount.links(req), req.context.credentials)
        values = read(req, self.entry)
        href = values[self.attr].get("href")
        component = run.links.local_id(href, self.rtype) if href else None
        if component is None:
            raise BadRequest(
                f"{self.attr}: give the href of a {self.rtype.name} of "
                f"{run.links.base_uri}"
            )
        self._check_exists(run, component, id)
        group = self.group

        def put_in(record: dict) -> None:
            if component in record["components"].get(group, []):
                raise Conflict(f"{self.attr} {component} is in system {id} already")
            record["components"].setdefault(group, []).append(component)
            # Put in by a client: a failed create's undo leaves it be.
            record.setdefault("added", {}).setdefault(group, []).append(component)

        if run.update(id, put_in) is None:
            raise NotFound(f"no system {id}")
        resp.status = falcon.HTTP_201
        entry = self._entry(run.links, id, component)
        resp.location = entry["id"]
        resp.media = Document(self.entry, entry)

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str, component: str
    ) -> None:
        """Take a resource out of the system; the resource stays."""
        run = Run(self.mount, self.mount.links(req), req.context.credentials)
        group = self.group

        def take_out(record: dict) -> None:
            if component not in record["components"].get(group, []):
                raise NotFound(f"system {id} has no {self.attr} {component}")
            record["components"][group].remove(component)
            added = record.get("added", {}).get(group, [])
            if component in added:
                added.remove(component)

        if run.update(id, take_out) is None:
            raise NotFound(f"no system {id}")
        resp.status = falcon.HTTP_200

    def _check_exists(self, run: Run, component: str, system_id: str) -> None:
        provider = self.mount.provider
        read_one = {
            "machines": getattr(provider, "get_machine", None),
            "volumes": getattr(provider, "get_volume", None),
            "credentials": getattr(provider, "get_credential", None),
            "networks": getattr(provider, "get_network", None),
            "systems": lambda creds, system_id: run.load(system_id),
        }[self.group]
        try:
            found = read_one(run.creds, component)
        except NotFound as ex:
            raise BadRequest(f"{self.attr}: {ex.message}") from ex
        # NOTE: checked again as the entry is written; two clients putting two
        # systems into each other at once can still make a loop, which every
        # walk over nested systems stops at (systems_within, delete).
        if self.group == "systems" and system_id in {
            component,
            *run.systems_within(found),
        }:
            raise BadRequest(f"system: {component} holds system {system_id} or is it")
