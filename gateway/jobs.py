"""Jobs: what the cloud is doing for a client, as the cloud itself reports it.

A job is recorded when an asynchronous operation is asked for, with the state
its target should reach. Reading the job looks at the target through the
provider, so a job's status is never more than one read away from the truth;
no background thread, no queue. Jobs live in the gateway's store, per tenant,
newest first, and are dropped after the retention time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Unauthorized
from gateway.store import Store

JOB = "job"
RUNNING, SUCCESS, FAILED, CANCELLED = "RUNNING", "SUCCESS", "FAILED", "CANCELLED"
#: the expected end of a deletion: the target is gone.
GONE = "GONE"

#: Look a target up: (collection path, id) to its CIMI state, None when gone.
Lookup = Callable[[str, str], str | None]


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
        """
        self._purge(namespace)
        now = _now().isoformat()
        job = {
            "id": uuid.uuid4().hex[:16],
            "action": action,
            "target": list(target) if target else None,
            "expect": expect,
            "status": RUNNING,
            "progress": 0,
            "statusMessage": "",
            "returnCode": None,
            "created": now,
            "changed": now,
        }
        if failure is not None:
            self._settle(job, FAILED, failure.message, failure.status)
        elif state is not None:
            self._judge(job, state)
        self.store.add(namespace, JOB, job["id"], job)
        return job

    def observe(self, namespace: str, target: tuple[str, str], state: str) -> None:
        """Settle the running jobs of ``target`` by a state just seen.

        Called before a new action on the target: a stop whose machine is
        STOPPED now succeeded, even if nobody read its job in between.
        """
        running = (
            job
            for job in self.store.list(namespace, JOB)
            if job["status"] == RUNNING and job["target"] == list(target)
        )
        for job in running:
            seen = dict(job)
            if self._judge(job, state):
                # Only over the job as read: a settled job is never re-judged.
                self.store.replace(namespace, JOB, job["id"], job, expected=seen)

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
            self.store.replace(namespace, JOB, job["id"], job, expected=seen)

    def get(self, namespace: str, job_id: str, lookup: Lookup) -> dict | None:
        """Return one job, brought up to date with its target; None if unknown."""
        job = self.store.get(namespace, JOB, job_id)
        if job is None or self._expired(job):
            return None
        return self._refresh(namespace, job, lookup)

    def list(self, namespace: str, lookup: Lookup) -> list[dict]:
        """Return the tenant's jobs, newest first, brought up to date."""
        jobs = [j for j in self.store.list(namespace, JOB) if not self._expired(j)]
        return [self._refresh(namespace, job, lookup) for job in reversed(jobs)]

    def _refresh(self, namespace: str, job: dict, lookup: Lookup) -> dict:
        if job["status"] != RUNNING or not job["target"]:
            return job
        try:
            state = lookup(*job["target"])
        except Unauthorized:
            raise
        except CimiError:
            # The cloud cannot tell now; the job stays as it was.
            return job
        seen = dict(job)
        if self._judge(job, state) and not self.store.replace(
            namespace, JOB, job["id"], job, expected=seen
        ):
            # Someone settled it first (a later action observed the target).
            return self.store.get(namespace, JOB, job["id"]) or job
        return job

    def _judge(self, job: dict, state: str | None) -> bool:
        """Settle ``job`` if its target's ``state`` (None: gone) decides it."""
        if state == job["expect"] or state is None and job["expect"] == GONE:
            self._settle(job, SUCCESS, "", 0)
        elif state is None:
            self._settle(job, FAILED, "the target disappeared", 410)
        elif state == "ERROR":
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
