"""Jobs: what the cloud is doing for a client, as the cloud itself reports it.

A job is recorded when an asynchronous operation is asked for, with the state
its target should reach. Reading the job looks at the target through the
provider, so a job's status is never more than one read away from the truth;
no background thread, no queue. Jobs live in the gateway's store, per tenant,
newest first, and are dropped after the retention time.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from gateway import metrics
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Unauthorized
from gateway.store import Store

JOB = "job"
RUNNING, SUCCESS, FAILED, CANCELLED = "RUNNING", "SUCCESS", "FAILED", "CANCELLED"
#: the expected end of a deletion: the target is gone.
GONE = "GONE"

#: Look a target up: (collection path, id) to its CIMI state, None when gone.
Lookup = Callable[[str, str], str | None]
#: Start a parent job's next steps (opaque to this module) with the client's
#: credentials in hand; return the ids of the nested jobs they started.
Advance = Callable[[dict, list[dict]], list[str]]
#: how long a parent job's advance may be claimed before another may take it
#: over (its worker died half-way).
_CLAIM = timedelta(minutes=5)


def new_id() -> str:
    """Return a new job id, for a job whose nested jobs name it first."""
    return uuid.uuid4().hex[:16]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Jobs:
    """The jobs of every tenant, in the store.

    Args:
        store: the gateway's record store.
        retention: how long a job is kept after it was recorded.
    """

    def __init__(self, store: Store, retention: timedelta) -> None:
        self.store = store
        self.retention = retention

    def record(
        self,
        namespace: str,
        action: str,
        target: tuple[str, str] | None,
        expect: str,
        *,
        failure: CimiError | None = None,
        state: str | None = None,
        job_id: str | None = None,
        parent: str | None = None,
        nested: list[str] | None = None,
        steps: list[list[dict]] | None = None,
        undo: dict | None = None,
        done: bool = False,
    ) -> dict:
        """Record a job for ``action`` on ``target`` (collection path, id).

        A create that failed at once has no target.

        Args:
            expect: the CIMI state the target reaches when the job succeeds,
                or ``GONE``.
            failure: the provider's refusal, for a job that failed at once.
            state: the target's state as the cloud answered the call; a job
                whose target is there already is settled at once, at the
                right time.
            job_id: the id to record it under (``new_id()``), when its
                nested jobs were recorded first, naming it their parent.
            parent: the id of the job this one is part of.
            nested: the jobs this one is made of: it follows them, SUCCESS
                when all succeed, FAILED when one fails.
            steps: what is left to do, a phase at a time, each started when
                the nested jobs so far all succeeded (``Advance``).
            undo: a step started when this job fails (a rollback).
            done: the call did it all: SUCCESS at once.
        """
        self._purge(namespace)
        now = _now().isoformat()
        job = {
            "id": job_id or new_id(),
            "action": action,
            "target": list(target) if target else None,
            "expect": expect,
            "status": RUNNING,
            "progress": 0,
            "statusMessage": "",
            "returnCode": None,
            "created": now,
            "changed": now,
            "parent": parent,
            "nested": list(nested or ()),
            "steps": list(steps or ()),
            "undo": undo,
            "claimed": None,
        }
        if failure is not None:
            self._settle(job, FAILED, failure.message, failure.status)
        elif done and not job["steps"]:
            self._settle(job, SUCCESS, "", 0)
        elif state is not None and not job["nested"]:
            self._judge(job, state)
        self.store.add(namespace, JOB, job["id"], job)
        metrics.job_counted(RUNNING)
        if job["status"] != RUNNING:
            metrics.job_counted(job["status"])
        return job

    def observe(self, namespace: str, target: tuple[str, str], state: str) -> None:
        """Settle the running jobs of ``target`` by a state just seen.

        Called before a new action on the target: a stop whose machine is
        STOPPED now succeeded, even if nobody read its job in between.
        """
        running = (
            job
            for job in self.store.list(namespace, JOB)
            if job["status"] == RUNNING
            and job["target"] == list(target)
            # A parent job follows its nested jobs, not its target's state.
            and not job.get("nested")
            and not job.get("steps")
        )
        for job in running:
            seen = dict(job)
            if self._judge(job, state):
                # Only over the job as read: a settled job is never re-judged.
                self._swap(namespace, job, seen)

    def cancel(self, namespace: str, target: tuple[str, str], message: str) -> None:
        """Settle ``target``'s running jobs as CANCELLED: it is being deleted.

        An image deleted while its capture runs was not a failed capture; a
        stop overtaken by a delete did not fail either.
        """
        for job in self.store.list(namespace, JOB):
            if job["status"] != RUNNING or job["target"] != list(target):
                continue
            if job["expect"] == GONE:
                continue  # an earlier delete is not overtaken, it is repeated
            seen = dict(job)
            self._settle(job, CANCELLED, message, 0)
            # Only over the job as read: one that settled meanwhile stays so.
            self._swap(namespace, job, seen)

    def get(
        self,
        namespace: str,
        job_id: str,
        lookup: Lookup,
        advance: Advance | None = None,
    ) -> dict | None:
        """Return one job, brought up to date with its target; None if unknown.

        A parent job is brought up to date with its nested jobs, and, given
        ``advance``, its next steps are started when their time has come.
        """
        job = self.store.get(namespace, JOB, job_id)
        if job is None or self._expired(job):
            return None
        return self._refresh(namespace, job, lookup, advance)

    def list(
        self, namespace: str, lookup: Lookup, advance: Advance | None = None
    ) -> list[dict]:
        """Return the tenant's jobs, newest first, brought up to date."""
        jobs = [j for j in self.store.list(namespace, JOB) if not self._expired(j)]
        return [
            self._refresh(namespace, job, lookup, advance) for job in reversed(jobs)
        ]

    def _refresh(
        self,
        namespace: str,
        job: dict,
        lookup: Lookup,
        advance: Advance | None = None,
    ) -> dict:
        if job["status"] != RUNNING:
            return job
        if job.get("nested") or job.get("steps"):
            return self._refresh_parent(namespace, job, lookup, advance)
        if not job["target"]:
            return job
        try:
            state = lookup(*job["target"])
        except Unauthorized:
            raise
        except CimiError:
            # The cloud cannot tell now; the job stays as it was.
            return job
        seen = dict(job)
        if self._judge(job, state) and not self._swap(namespace, job, seen):
            # Someone settled it first (a later action observed the target).
            return self.store.get(namespace, JOB, job["id"]) or job
        return job

    def _refresh_parent(
        self, namespace: str, job: dict, lookup: Lookup, advance: Advance | None
    ) -> dict:
        """Follow a parent job's nested jobs; start its next steps when due.

        A nested job CANCELLED (its target deleted meanwhile, by a client) or
        no longer kept (past the retention: long done) is over, not failed.
        """
        nested = [
            self.get(namespace, child, lookup, advance) for child in job["nested"]
        ]
        failed = next((c for c in nested if c and c["status"] == FAILED), None)
        seen = dict(job)
        if failed is not None:
            what = "/".join(failed["target"]) if failed["target"] else "a component"
            message = f"{what}: {failed['statusMessage'] or 'failed'}"
            return self._fail(
                namespace, job, seen, message, failed["returnCode"] or 500, advance
            )
        over = sum(c is None or c["status"] in (SUCCESS, CANCELLED) for c in nested)
        if over < len(nested):
            job["progress"] = over * 100 // (len(nested) + len(job["steps"]))
            if job["progress"] != seen["progress"]:
                self._swap(namespace, job, seen)
            return job
        if not job["steps"]:
            self._settle(job, SUCCESS, "", 0)
            return self._written(namespace, job, seen)
        if advance is None or not self._claim(namespace, job, seen):
            return self.store.get(namespace, JOB, job["id"]) or seen
        # A deep copy: the write compares with it, and ``advance`` may change
        # the steps it is given (a step put back for the next reader).
        claimed = copy.deepcopy(job)
        phase, job["steps"] = job["steps"][0], job["steps"][1:]
        try:
            started = advance(job, phase)
        except Exception:
            # Let the claim go: the next reader tries the phase again.
            self._swap(namespace, seen, claimed)
            raise
        job.update(nested=job["nested"] + started, claimed=None)
        if not started and not job["steps"]:
            self._settle(job, SUCCESS, "", 0)
        # Claimed: no other reader writes this job until the claim is let go.
        self._swap(namespace, job, claimed)
        return self._refresh(namespace, job, lookup, advance) if started else job

    def _claim(self, namespace: str, job: dict, seen: dict) -> bool:
        """Take the right to start a parent job's next phase; False: another
        worker holds it (and did not die at it)."""
        claimed = seen.get("claimed")
        if claimed and datetime.fromisoformat(claimed) > _now() - _CLAIM:
            return False
        job["claimed"] = _now().isoformat()
        return self._swap(namespace, job, seen)

    def _fail(
        self,
        namespace: str,
        job: dict,
        seen: dict,
        message: str,
        code: int,
        advance: Advance | None,
    ) -> dict:
        """Settle a parent job FAILED; start its undo first, if it has one.

        A job with an undo waits, RUNNING, for a reader who can start it; that
        reader claims it, so the undo runs once, and settles it only after:
        an undo that raised is tried again by the next reader.
        """
        undo = job.get("undo")
        if undo is not None:
            if advance is None or not self._claim(namespace, job, seen):
                return self.store.get(namespace, JOB, job["id"]) or seen
            claimed, seen = copy.deepcopy(job), copy.deepcopy(job)
            try:
                started = advance(job, [undo])
            except Exception:
                unclaimed = {**claimed, "claimed": None}
                self._swap(namespace, unclaimed, claimed)
                raise
            if started:
                message += f"; undone by job {', '.join(started)}"
        self._settle(job, FAILED, message, code)
        job.update(steps=[], undo=None, claimed=None)
        return self._written(namespace, job, seen)

    def _swap(self, namespace: str, job: dict, seen: dict) -> bool:
        """Write ``job`` over ``seen`` (compare-and-swap); False: it changed.

        The one place a job is rewritten, so a job settling is counted once:
        by the one writer whose swap took it from RUNNING.
        """
        if not self.store.replace(namespace, JOB, job["id"], job, expected=seen):
            return False
        if seen["status"] == RUNNING and job["status"] != RUNNING:
            metrics.job_counted(job["status"])
        return True

    def _written(self, namespace: str, job: dict, seen: dict) -> dict:
        """Write a job settled over ``seen``; the stored one if another was first."""
        if self._swap(namespace, job, seen):
            return job
        return self.store.get(namespace, JOB, job["id"]) or job

    def _judge(self, job: dict, state: str | None) -> bool:
        """Settle ``job`` if its target's ``state`` (None: gone) decides it."""
        if state == job["expect"] or state is None and job["expect"] == GONE:
            self._settle(job, SUCCESS, "", 0)
        elif state is None:
            self._settle(job, FAILED, "the target disappeared", 410)
        elif state == "ERROR" and job["expect"] != GONE:
            # (A delete goes on: clouds delete what went into ERROR.)
            self._settle(job, FAILED, "the target went into ERROR", 500)
        else:
            return False
        return True

    @staticmethod
    def _settle(job: dict, status: str, message: str, code: int) -> None:
        job.update(
            status=status,
            statusMessage=message,
            returnCode=code,
            progress=100,
            changed=_now().isoformat(),
        )

    def _expired(self, job: dict) -> bool:
        return datetime.fromisoformat(job["created"]) < _now() - self.retention

    def _purge(self, namespace: str) -> None:
        for job in self.store.list(namespace, JOB):
            if self._expired(job):
                self.store.remove(namespace, JOB, job["id"])
