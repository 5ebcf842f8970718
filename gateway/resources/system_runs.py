"""Making, driving and deleting a system: its components' calls and jobs.

A system is the gateway's own composition of the cloud's resources: a record
in the store (its name and the ids of its components) and, for each thing
done to it, a parent job whose nested jobs are the components' own.

Everything that can be done at once is done in the request: a create makes
every component there, an action asks every machine. What must wait for the
cloud (a volume is deleted once the machine it was attached to is gone, the
record once every component is) is a later phase of the job, started when a
reader of the job or of the system sees the phase before it done: the
gateway acts only with a client's credentials in hand, and keeps none.

A create that fails half-way deletes what it made, at once; one whose
component fails later (a machine going into ERROR) deletes the system when
its job is next read. Either way the failed job names the component and the
delete job.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import SYSTEM
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_uri
from gateway.jobs import FAILED
from gateway.jobs import GONE
from gateway.jobs import RUNNING
from gateway.jobs import Advance
from gateway.jobs import new_id
from gateway.resources.jobs import lookup
from gateway.resources.jobs import machine_volumes_path
from gateway.resources.links import Links
from gateway.resources.machine_volumes import ATTACH
from gateway.resources.machines import ACTION_OUTCOME
from gateway.resources.mount import SYSTEM_GROUPS
from gateway.resources.mount import Mount
from gateway.resources.system_templates import Planned
from gateway.resources.system_templates import SystemPlan
from providers.base import ATTACHABLE_STATES
from providers.base import DELETE
from providers.base import Credentials
from providers.base import effective_action

#: the store's kind of system records.
SYSTEM_KIND = "system"
#: a system's component collections: their path under the system, by the
#: type of the resource each holds, in DSP8009's order.
GROUPS: Mapping[str, ResourceType] = {
    group: rtype for group, (rtype, _) in SYSTEM_GROUPS.items()
}
_GROUP_OF = {rtype.name: group for group, rtype in GROUPS.items()}
_ADD, _DELETE = action_uri("add"), action_uri("delete")
_ATTACH = action_uri(ATTACH)


class CreateFailed(Exception):
    """A system create failed half-way; what it made is being deleted.

    Args:
        error: the cloud's (or the gateway's) refusal, named after the
            component it came from.
        job: the FAILED create job.
    """

    def __init__(self, error: CimiError, job: dict) -> None:
        super().__init__(error.message)
        self.error = error
        self.job = job


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _later(delay: timedelta) -> str:
    return (datetime.now(UTC).replace(microsecond=0) + delay).isoformat()


#: how long a system's delete waits for a volume to be let go (its machine
#: gone) or made, before it fails.
_HELD_FOR = timedelta(minutes=10)
#: a create older than this whose record still says so died half-way.
CREATE_LAPSES = timedelta(minutes=10)
_WRITE_TRIES = 16


def new_record(plan: SystemPlan) -> dict:
    """Return the record of a system about to be made from ``plan``."""
    now = _now()
    return {
        "id": uuid.uuid4().hex[:12],
        "name": plan.name,
        "description": plan.description,
        "property": dict(plan.properties),
        "created": now,
        "updated": now,
        "components": {group: [] for group in GROUPS},
        "job": None,
    }


@dataclass(frozen=True)
class Run:
    """What one request does to a tenant's systems, with its credentials."""

    mount: Mount
    links: Links
    creds: Credentials

    @property
    def namespace(self) -> str:
        return self.mount.namespace(self.creds)

    @property
    def provider(self):  # noqa: ANN201 - whichever families the cloud serves
        return self.mount.provider

    # -- records ------------------------------------------------------------

    def load(self, system_id: str) -> dict:
        """Return a system's record; raise ``NotFound`` when there is none."""
        record = self.mount.store.get(self.namespace, SYSTEM_KIND, system_id)
        if record is None:
            raise NotFound(f"no system {system_id}")
        return record

    def records(self) -> list[dict]:
        return self.mount.store.list(self.namespace, SYSTEM_KIND)

    def update(self, system_id: str, change: Callable[[dict], None]) -> dict | None:
        """Change a system's record over the record as read; return it.

        Compare-and-swap, tried again over a record someone changed first (a
        create adding its components while a client renames the system), so
        no writer's change is lost. None: the record is gone.
        """
        for _ in range(_WRITE_TRIES):
            record = self.mount.store.get(self.namespace, SYSTEM_KIND, system_id)
            if record is None:
                return None
            changed = copy.deepcopy(record)
            change(changed)
            if self.mount.store.replace(
                self.namespace, SYSTEM_KIND, system_id, changed, expected=record
            ):
                return changed
        raise Conflict(f"system {system_id} changed meanwhile; try again")

    def job(self, job_id: str | None, *, moving: bool = True) -> dict | None:
        """Return one of this tenant's jobs, brought up to date; ``moving``:
        its next phase started too, when due."""
        if not job_id:
            return None
        return self.mount.jobs.get(
            self.namespace,
            job_id,
            lookup(self.provider, self.creds),
            self.advance if moving else None,
        )

    # -- create -------------------------------------------------------------

    def create(self, plan: SystemPlan, parent: str | None = None) -> tuple[dict, dict]:
        """Make a system and its components; return its record and job.

        Raises:
            CreateFailed: a component's create failed (or anything else went
                wrong half-way); what was made before it is being deleted.
        """
        record = new_record(plan)
        # CREATING from the first write: no delete or action overtakes the
        # request making it (systems.py refuses them while it is marked).
        record["creating"] = _now()
        self.mount.store.add(self.namespace, SYSTEM_KIND, record["id"], record)
        job_id, nested = new_id(), []
        made_ids: list[str] = []  # by the component's place in the plan
        attach: list[dict] = []
        component = plan.components[0] if plan.components else None
        try:
            for component in plan.components:
                made, child = self._make(component, job_id)
                made_ids.append(made)
                # Written as each is made: a worker dying half-way leaves a
                # record of all it made, which a delete finds.
                group = _GROUP_OF[component.kind.name]
                record = (
                    self.update(
                        record["id"],
                        lambda r, g=group, m=made: r["components"][g].append(m),
                    )
                    or record
                )
                nested.append(child)
                attach += [
                    {
                        "op": "attach",
                        "machine": made,
                        "volume": made_ids[volume] if is_component else volume,
                        "device": device,
                    }
                    for volume, is_component, device in component.attach
                ]
        except CreateFailed as ex:  # a nested system's own, undone already
            nested.append(ex.job["id"])
            raise self._failed(
                record, job_id, parent, nested, component, ex.error
            ) from ex
        except Exception as ex:  # noqa: BLE001 - whatever it was, undo
            error = (
                ex
                if isinstance(ex, CimiError)
                else CimiError(f"the gateway failed ({type(ex).__name__})")
            )
            failed = self.mount.jobs.record(
                self.namespace, _ADD, None, "", failure=error, parent=job_id
            )
            nested.append(failed["id"])
            raise self._failed(record, job_id, parent, nested, component, error) from ex
        # The volumes go on their machines once both are made: a later phase,
        # started by the job's first reader (not here: this answers the create).
        self.mount.jobs.record(
            self.namespace,
            _ADD,
            (SYSTEM.path, record["id"]),
            "",
            job_id=job_id,
            parent=parent,
            nested=nested,
            steps=[attach] if attach else [],
            undo={"op": "delete_system", "system": record["id"]},
            done=not nested and not attach,
        )

        def made(r: dict) -> None:
            r["job"] = job_id
            r.pop("creating", None)

        record = self.update(record["id"], made) or record
        job = self.mount.jobs.get(
            self.namespace, job_id, lookup(self.provider, self.creds)
        )
        return record, job or {}

    def _make(self, component: Planned, parent: str) -> tuple[str, str]:
        """Make one component; return its id and the id of its job."""
        jobs, provider = self.mount.jobs, self.provider
        spec = component.spec
        if isinstance(spec, SystemPlan):
            record, job = self.create(spec, parent=parent)
            return record["id"], job["id"]
        if component.kind.rtype is CREDENTIAL:
            made = provider.import_credential(self.creds, component.name, spec)
            job = jobs.record(
                self.namespace,
                _ADD,
                (CREDENTIAL.path, made["id"]),
                "",
                parent=parent,
                done=True,
            )
            return made["id"], job["id"]
        if component.kind.rtype is VOLUME:
            made, expect = provider.create_volume(self.creds, spec), "AVAILABLE"
        else:
            made = provider.create_machine(self.creds, spec)
            expect = spec.initial_state  # type: ignore[attr-defined]
        job = jobs.record(
            self.namespace,
            _ADD,
            (component.kind.rtype.path, made["id"]),
            expect,
            state=made["state"],
            parent=parent,
        )
        return made["id"], job["id"]

    def _failed(
        self,
        record: dict,
        job_id: str,
        parent: str | None,
        nested: list[str],
        component: Planned | None,
        error: CimiError,
    ) -> CreateFailed:
        """Record a create's failure, delete what it made; return the error."""
        record = self.update(record["id"], lambda r: r.pop("creating", None)) or record
        undo = self.delete(record, undoing=True)
        label = component.label if component is not None else "the system"
        named = type(error)(
            f"{label}: {error.message}; what the system made is deleted "
            f"again (job {undo['id']})"
        )
        job = self.mount.jobs.record(
            self.namespace,
            _ADD,
            (SYSTEM.path, record["id"]),
            "",
            job_id=job_id,
            parent=parent,
            nested=nested,
            failure=named,
        )
        return CreateFailed(named, job)

    # -- delete -------------------------------------------------------------

    def delete(
        self,
        record: dict,
        parent: str | None = None,
        seen: frozenset = frozenset(),
        *,
        undoing: bool = False,
    ) -> dict:
        """Delete a system's components, then its record; return the job.

        Machines and nested systems go at once; then the volumes (free once
        the machines holding them are gone), the credentials, the record. A
        system being deleted already answers with that delete's job: one
        delete at a time.

        Args:
            undoing: the undo of a failed create: what a client put in the
                system itself stays, and the failed create job is not
                overtaken (it says it failed, and why).

        Raises:
            NotFound: the system is gone (a read just finished its delete).
            Conflict: another delete of it is starting this instant.
        """
        jobs, namespace = self.mount.jobs, self.namespace
        job_id = new_id()
        running = self.job(record.get("job"))
        if running and running["action"] == _DELETE and running["status"] == RUNNING:
            return running

        def claim(r: dict) -> None:
            if r.get("job") != record.get("job") or self._deleting(r):
                raise Conflict(f"system {r['id']} is being deleted; read it again")
            r.update(job=job_id, deleting=_now())

        record = self.update(record["id"], claim)
        if record is None:
            raise NotFound("no such system: it was deleted")
        put_in = record.get("added") or {}
        components = {
            group: [c for c in ids if not (undoing and c in put_in.get(group, ()))]
            for group, ids in record["components"].items()
        }
        # Whatever the system was doing is overtaken, not failed.
        for target in self._targets(record):
            if not (undoing and target[0] == SYSTEM.path):
                jobs.cancel(namespace, target, "the system was deleted meanwhile")
        nested = []
        for system_id in components["systems"]:
            inner = self.mount.store.get(namespace, SYSTEM_KIND, system_id)
            if inner is not None and system_id not in seen | {record["id"]}:
                nested.append(self.delete(inner, job_id, seen | {record["id"]})["id"])
        nested += [self._delete_one(MACHINE, m, job_id) for m in components["machines"]]
        steps = [
            # After the machines: the volumes they held are free then.
            [
                {"op": "delete", "path": VOLUME.path, "id": v}
                for v in components["volumes"]
            ],
            [
                {"op": "delete", "path": CREDENTIAL.path, "id": c}
                for c in components["credentials"]
            ],
            [{"op": "forget", "system": record["id"]}],
        ]
        jobs.record(
            namespace,
            _DELETE,
            (SYSTEM.path, record["id"]),
            GONE,
            job_id=job_id,
            parent=parent,
            nested=nested,
            steps=[phase for phase in steps if phase],
        )
        return self.job(job_id) or {}

    @staticmethod
    def _deleting(record: dict) -> bool:
        """Tell whether a delete of the system started a moment ago (its job
        may not be recorded yet)."""
        since = record.get("deleting")
        return bool(since) and (
            datetime.fromisoformat(since) > datetime.now(UTC) - timedelta(seconds=30)
        )

    def _targets(self, record: dict) -> Iterator[tuple[str, str]]:
        yield (SYSTEM.path, record["id"])
        for group, rtype in GROUPS.items():
            for component in record["components"].get(group, []):
                yield (rtype.path, component)

    def _delete_one(self, rtype: ResourceType, id: str, parent: str) -> str:
        """Delete one component; return the id of its job.

        One gone already, or being deleted, is not deleted again.
        """
        provider = self.provider
        read, delete = {
            MACHINE: (provider.get_machine, provider.delete_machine),
            VOLUME: (
                getattr(provider, "get_volume", None),
                getattr(provider, "delete_volume", None),
            ),
            CREDENTIAL: (
                getattr(provider, "get_credential", None),
                getattr(provider, "delete_credential", None),
            ),
        }[rtype]

        def job(**outcome: object) -> str:
            return self.mount.jobs.record(
                self.namespace,
                _DELETE,
                (rtype.path, id),
                GONE,
                parent=parent,
                **outcome,
            )["id"]

        try:
            if read(self.creds, id).get("state") != "DELETING":
                delete(self.creds, id)
        except NotFound:
            return job(done=True)
        except CimiError as ex:
            if not self._going(read, id):
                return job(failure=ex)
            # Deleted meanwhile by another: its going is this job's too.
        # A key pair goes at once; the rest when the cloud is done.
        return job(done=rtype is CREDENTIAL)

    def _going(self, read: Callable[..., dict], id: str) -> bool:
        """Tell whether a component the cloud refused to delete is being
        deleted, or gone, all the same (another delete overtook ours)."""
        try:
            return read(self.creds, id).get("state") == "DELETING"
        except NotFound:
            return True
        except CimiError:
            return False

    def _deletable(self, volume_id: str) -> bool:
        """Tell whether a volume can be deleted now (not held, not being made)."""
        try:
            volume = self.provider.get_volume(self.creds, volume_id)
        except NotFound:
            return True  # gone: its delete step says so
        return DELETE in volume.get("operations", ()) or volume["state"] == "DELETING"

    def advance(self, job: dict, phase: list[dict]) -> list[str]:
        """Start a parent job's next phase; return its nested jobs' ids."""
        started, later = [], []
        for step in phase:
            if step["op"] == "delete" and step["path"] == VOLUME.path:
                if self._deletable(step["id"]):
                    started.append(self._delete_one(VOLUME, step["id"], job["id"]))
                elif _now() < step.setdefault("until", _later(_HELD_FOR)):
                    later.append(step)  # still held, or being made: next read
                else:
                    held = Conflict(f"volume {step['id']} is still held or being made")
                    started.append(
                        self.mount.jobs.record(
                            self.namespace,
                            _DELETE,
                            (VOLUME.path, step["id"]),
                            GONE,
                            parent=job["id"],
                            failure=held,
                        )["id"]
                    )
            elif step["op"] == "delete":
                started.append(self._delete_one(CREDENTIAL, step["id"], job["id"]))
            elif step["op"] == "forget":
                self.mount.store.remove(self.namespace, SYSTEM_KIND, step["system"])
            elif step["op"] == "attach":
                if self._attachable(step):
                    started.append(self._attach(step, job["id"]))
                elif _now() < step.setdefault("until", _later(_HELD_FOR)):
                    later.append(step)  # the machine is busy (stopping...)
                else:
                    started.append(self._attach(step, job["id"]))  # its refusal
            elif step["op"] == "delete_system":
                record = self.mount.store.get(
                    self.namespace, SYSTEM_KIND, step["system"]
                )
                if record is not None:
                    # The undo of a failed create, its only use.
                    started.append(self.delete(record, undoing=True)["id"])
        if later:
            # Tried again by the next reader, before what comes after.
            job["steps"] = [later, *job["steps"]]
        return started

    def _attachable(self, step: dict) -> bool:
        """Tell whether an attach can be asked now: its machine is STARTED or
        STOPPED, not on its way (a client stopped it before the attach), and
        its volume is made; one gone is asked, for the cloud's refusal."""
        try:
            machine = self.provider.get_machine(self.creds, step["machine"])
            volume = self.provider.get_volume(self.creds, step["volume"])
        except NotFound:
            return True
        busy = machine["state"] not in (*ATTACHABLE_STATES, "ERROR")
        return not busy and volume["state"] != "CREATING"

    def _attach(self, step: dict, parent: str) -> str:
        """Attach a volume to a machine made with it; return the job's id."""
        target = (machine_volumes_path(step["machine"]), step["volume"])
        try:
            attached = self.provider.attach_volume(
                self.creds, step["machine"], step["volume"], step["device"]
            )
        except CimiError as ex:
            return self.mount.jobs.record(
                self.namespace, _ATTACH, target, "ATTACHED", parent=parent, failure=ex
            )["id"]
        return self.mount.jobs.record(
            self.namespace,
            _ATTACH,
            target,
            "ATTACHED",
            state=attached["state"],
            parent=parent,
        )["id"]

    # -- actions -------------------------------------------------------------

    def act(self, record: dict, action: str, force: bool) -> dict:
        """Ask every machine of a system (nested ones' too) to ``action``."""
        jobs, namespace = self.mount.jobs, self.namespace
        job_id, nested = new_id(), []
        for machine_id in self.machines(record):
            target = (MACHINE.path, machine_id)
            try:
                machine = self.provider.get_machine(self.creds, machine_id)
            except NotFound:
                continue  # deleted out of the system's hands: not its to act on
            jobs.observe(namespace, target, machine["state"])
            asked = effective_action(action, machine["state"])
            outcome = ACTION_OUTCOME[asked]
            if machine["state"] == outcome:
                nested.append(
                    jobs.record(
                        namespace,
                        action_uri(asked),
                        target,
                        outcome,
                        parent=job_id,
                        done=True,
                    )["id"]
                )
                continue
            try:
                after = self.provider.act(self.creds, machine_id, asked, force=force)
            except CimiError as ex:
                child = jobs.record(
                    namespace,
                    action_uri(asked),
                    target,
                    outcome,
                    parent=job_id,
                    failure=ex,
                )
            else:
                child = jobs.record(
                    namespace,
                    action_uri(asked),
                    target,
                    outcome,
                    state=after["state"],
                    parent=job_id,
                )
            nested.append(child["id"])
        jobs.record(
            namespace,
            action_uri(action),
            (SYSTEM.path, record["id"]),
            "",
            job_id=job_id,
            nested=nested,
            done=not nested,
        )
        return self.job(job_id) or {}

    def machines(self, record: dict) -> Iterator[str]:
        """Yield the machines of a system and of the systems in it."""
        yield from record["components"]["machines"]
        for system_id in self.systems_within(record):
            nested = self.mount.store.get(self.namespace, SYSTEM_KIND, system_id)
            if nested is not None:
                yield from nested["components"]["machines"]

    def systems_within(self, record: dict) -> list[str]:
        """Return the ids of the systems in a system, however deep."""
        found: list[str] = []
        waiting = list(record["components"]["systems"])
        while waiting:
            system_id = waiting.pop()
            if system_id in found or system_id == record["id"]:
                continue  # held twice (a cycle cannot be made, but be safe)
            found.append(system_id)
            nested = self.mount.store.get(self.namespace, SYSTEM_KIND, system_id)
            if nested is not None:
                waiting += nested["components"]["systems"]
        return found

    # -- state -------------------------------------------------------------

    @staticmethod
    def creating(record: dict) -> bool:
        """Tell whether a request is making the system now (and did not die
        at it: a mark older than ``CREATE_LAPSES`` is let go)."""
        since = record.get("creating")
        return bool(since) and (
            datetime.fromisoformat(since) > datetime.now(UTC) - CREATE_LAPSES
        )

    def state(
        self, record: dict, machine_states: Mapping[str, str], *, moving: bool = True
    ) -> str:
        """Return a system's CIMI state.

        CREATING or DELETING while its create or delete job runs (ERROR when
        the delete failed); otherwise its machines' state when they all
        share one, MIXED when they do not, STARTED without machines.
        """
        if self.creating(record):
            return "CREATING"
        job = self.job(record.get("job"), moving=moving)
        if job is not None and job["action"] == _DELETE and job["status"] == FAILED:
            return "ERROR"
        if job is not None and job["status"] == RUNNING:
            return "DELETING" if job["action"] == _DELETE else "CREATING"
        states = {
            machine_states[m] for m in self.machines(record) if m in machine_states
        }
        if not states:
            return "STARTED"
        return states.pop() if len(states) == 1 else "MIXED"


def advancer(mount: Mount, links: Links, creds: Credentials) -> Advance:
    """Return how a reader with ``creds`` starts parent jobs' next phases."""
    return Run(mount, links, creds).advance
