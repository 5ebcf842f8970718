"""``{mount}/machines``: the whole life of a machine.

Create (from a MachineCreate whose template is referenced or given by value),
read, edit, delete, and actions (start, stop, restart, capture) POSTed as an
Action to the operation href the machine advertises. What the cloud does
asynchronously answers 202 (201 for a create) with a Job in ``CIMI-Job-URI``.
"""

from __future__ import annotations

import functools

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import ACTION
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_CREATE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import Document
from gateway.cimi.schema import action_name
from gateway.cimi.schema import action_uri
from gateway.conditional import check_if_match
from gateway.jobs import GONE
from gateway.jobs import new_id
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources import references
from gateway.resources.edits import check_read_only
from gateway.resources.jobs import answer_with_job
from gateway.resources.jobs import failed_job
from gateway.resources.jobs import record_capture
from gateway.resources.links import Links
from gateway.resources.listing import collection
from gateway.resources.machine_templates import MACHINE_TEMPLATES
from gateway.resources.mount import Mount
from providers.base import CAPTURE
from providers.base import MACHINE_ACTIONS
from providers.base import PAUSE
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import SUSPEND
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import effective_action
from providers.families import ServesMachines
from providers.families import machine_actions

#: the state an action's machine reaches when the cloud is done.
ACTION_OUTCOME = {
    START: "STARTED",
    STOP: "STOPPED",
    RESTART: "STARTED",
    PAUSE: "PAUSED",
    SUSPEND: "SUSPENDED",
}
_EDITABLE = ("name", "description", "property")


class Machines:
    """The machines of one provider."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesMachines = mount.provider  # type: ignore[assignment]
        self.store = mount.store
        self.jobs = mount.jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds = req.context.credentials
        resp.media = collection(
            self.mount,
            req,
            MACHINE,
            functools.partial(self.provider.list_machines, creds),
            can_add=True,
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        machine = self.provider.get_machine(req.context.credentials, id)
        resp.media = self.mount.links(req).shown(MACHINE, machine)

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a machine from a MachineCreate."""
        creds, links = req.context.credentials, self.mount.links(req)
        values = read(req, MACHINE_CREATE)
        merged = MACHINE_TEMPLATES.merged(
            self.store,
            self._namespace(creds),
            links,
            "machineTemplate",
            values["machineTemplate"],
        )
        spec = machine_spec(self.provider, links, creds, merged, values)
        with failed_job(resp, links, self.jobs, self._namespace(creds), "add", None):
            machine = self.provider.create_machine(creds, spec)
        target = (MACHINE.path, machine["id"])
        namespace, parent = self._namespace(creds), new_id()
        attach = attach_steps(machine["id"], merged)
        job = self.jobs.record(
            namespace,
            action_uri("add"),
            target,
            spec.initial_state,
            state=machine["state"],
            parent=parent if attach else None,
        )
        if attach:
            # The template's volumes are attached once the machine is made:
            # the create's job is a parent, its second phase the attaching.
            job = self.jobs.record(
                namespace,
                action_uri("add"),
                target,
                spec.initial_state,
                job_id=parent,
                nested=[job["id"]],
                steps=[attach],
            )
        resp.set_header("CIMI-Job-URI", links.item_of_job(job))
        resp.status = falcon.HTTP_201
        resp.location = links.item(MACHINE, machine["id"])
        resp.media = links.document(MACHINE, machine)

    @forgets_listings
    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        """Edit a machine's name, description and properties."""
        creds, links = req.context.credentials, self.mount.links(req)
        given = read(req, MACHINE, read_only=True)
        current = links.values(MACHINE, self.provider.get_machine(creds, id))
        check_if_match(req, Document(MACHINE, current))
        check_read_only(links, MACHINE, given, current)
        edits = {name: given[name] for name in _EDITABLE if name in given}

        def unchanged(machine: dict) -> None:
            # Again at the write: another edit may have landed since the read.
            check_if_match(req, Document(MACHINE, links.values(MACHINE, machine)))

        machine = self.provider.edit_machine(creds, id, edits, check=unchanged)
        resp.media = links.document(MACHINE, machine)

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        namespace, target = self._namespace(creds), (MACHINE.path, id)
        with failed_job(resp, links, self.jobs, namespace, "delete", target, GONE):
            # What the machine is now settles the jobs that led here.
            machine = self.provider.get_machine(creds, id)
            check_if_match(req, links.document(MACHINE, machine))
            self.jobs.observe(namespace, target, machine["state"])
            self.provider.delete_machine(creds, id)
        self.jobs.cancel(namespace, target, "the machine was deleted meanwhile")
        job = self.jobs.record(namespace, action_uri("delete"), target, GONE)
        answer_with_job(resp, links, job)

    @forgets_listings
    def on_post_action(
        self, req: falcon.Request, resp: falcon.Response, id: str, action: str
    ) -> None:
        """Run the action an Action body names, at that action's own href."""
        if action not in machine_actions(self.provider):
            raise NotFound(f"machines here have no {action} operation")
        creds, links = req.context.credentials, self.mount.links(req)
        body = read(req, ACTION)
        asked = action_name(body["action"])
        if asked not in MACHINE_ACTIONS:
            raise BadRequest(f"action: unknown action '{body['action']}'")
        if asked != action:
            raise BadRequest(f"action: {asked} was posted to the {action} operation")
        namespace, target = self._namespace(creds), (MACHINE.path, id)
        with failed_job(resp, links, self.jobs, namespace, action, target):
            machine = self.provider.get_machine(creds, id)
        self.jobs.observe(namespace, target, machine["state"])
        if action == CAPTURE:
            with failed_job(resp, links, self.jobs, namespace, CAPTURE, target):
                image = self.mount.provider.capture(creds, id, {})  # type: ignore[attr-defined]
            resp.location = links.item(MACHINE_IMAGE, image["id"])
            answer_with_job(resp, links, record_capture(self.jobs, namespace, image))
            return
        action = effective_action(action, machine["state"])
        outcome = ACTION_OUTCOME[action]
        with failed_job(resp, links, self.jobs, namespace, action, target, outcome):
            after = self.provider.act(
                creds, id, action, force=bool(body.get("force", False))
            )
        job = self.jobs.record(
            namespace, action_uri(action), target, outcome, state=after["state"]
        )
        answer_with_job(resp, links, job)

    def _namespace(self, creds: Credentials) -> str:
        return self.mount.namespace(creds)


# -- MachineCreate ------------------------------------------------------------


def machine_spec(
    provider: ServesMachines,
    links: Links,
    creds: Credentials,
    template: dict,
    values: dict,
) -> MachineSpec:
    """Return what the provider needs to make a machine, or say what is wrong.

    Args:
        template: the machine template's values as stored (references as
            local ids), checked here against the cloud.
        values: the create's own name, description and properties, which
            win over the template's.

    Raises:
        BadRequest: naming what the cloud lacks.
    """
    for item in template.get("volume", ()):
        if "id" in item["href"]:
            references.attachable_volume(provider, links, creds, item["href"]["id"])
    return MachineSpec(
        config_id=references.config_id(
            provider, links, creds, template.get("machineConfig")
        ),
        image_id=references.image_id(
            provider, links, creds, template.get("machineImage")
        ),
        name=values.get("name", template.get("name", "")),
        description=values.get("description", template.get("description", "")),
        properties=values.get("property", template.get("property", {})),
        key_name=references.key_name(
            provider, links, creds, template.get("credential")
        ),
        user_data=template.get("userData", ""),
        initial_state=template.get("initialState", "STARTED"),
    )


def attach_steps(machine_id: str, template: dict) -> list[dict]:
    """Return the steps attaching a template's volumes to a machine made from it.

    Each is ``{"op": "attach", ...}``, run by ``system_runs.Run.advance``.
    """
    return [
        {
            "op": "attach",
            "machine": machine_id,
            "volume": item["href"]["id"],
            "device": item.get("initialLocation", ""),
        }
        for item in template.get("volume", ())
        if "id" in item["href"]
    ]
