"""Credentials: HTTP Basic parsing and the salted hashes of static mode."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from gateway.auth import Authenticator
from gateway.auth import basic_credentials
from gateway.auth import hash_password
from gateway.auth import verify_password
from gateway.cimi.errors import Unauthorized


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_hash_is_salted_and_verifies():
    first, second = (
        hash_password("pw", iterations=1000),
        hash_password("pw", iterations=1000),
    )

    assert first != second
    assert verify_password("pw", first)
    assert not verify_password("pW", first)
    assert not verify_password("pw", "pbkdf2_sha256$garbage")


def test_basic_credentials_keep_colons_in_the_password():
    creds = basic_credentials(basic("AKID:se:cr:et"))

    assert (creds.user, creds.secret) == ("AKID", "se:cr:et")
    assert "se:cr:et" not in repr(creds)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer abc", "Basic !!!", basic("no-colon"), basic(":nouser")],
    ids=["none", "empty", "bearer", "not-base64", "no-colon", "no-user"],
)
def test_bad_authorization_headers_are_401(header):
    with pytest.raises(Unauthorized):
        basic_credentials(header)


def test_identity_depends_on_the_secret_too():
    from providers.base import Credentials

    victim, guess = (
        Credentials("AKIAVICTIM", "realsecret"),
        Credentials("AKIAVICTIM", "x"),
    )

    assert victim.identity != guess.identity
    assert victim.identity == Credentials("AKIAVICTIM", "realsecret").identity
    assert "realsecret" not in victim.identity


def test_config_credentials_keep_their_tenant_across_a_rotated_secret():
    from providers.base import Credentials

    before = Credentials("AKIACONFIG", "old", secret_bound=False)
    after = Credentials("AKIACONFIG", "new", secret_bound=False)

    assert before.identity == after.identity


@pytest.mark.parametrize(
    "header",
    ["Basic \xe9", "Basic \xe9" * 4, basic("us\x00er:pw"), basic("user:p\r\nw")],
    ids=["latin-1", "latin-1-long", "nul-in-user", "crlf-in-password"],
)
def test_non_ascii_or_control_characters_are_401(header):
    with pytest.raises(Unauthorized, match="malformed"):
        basic_credentials(header)


# -- verdicts: static mode -----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("gateway.auth.time.monotonic", clock)
    return clock


@pytest.fixture
def hashings(monkeypatch) -> list[str]:
    """Record every PBKDF2 the authenticator pays, by the hash checked."""
    import gateway.auth

    calls: list[str] = []
    real = gateway.auth.verify_password

    def counting(password: str, hashed: str) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(gateway.auth, "verify_password", counting)
    return calls


class StaticProvider:
    name = "p"
    STATIC_CREDENTIALS = ("key", "secret")
    settings = {"key": "AKID", "secret": "cloudsecret"}


def static_authenticator(**options) -> Authenticator:
    users = {"alice": hash_password("right", iterations=1000)}
    return Authenticator("static", users, **options)


def test_an_unknown_user_costs_a_hash_as_a_wrong_password_does(hashings):
    authenticator = static_authenticator()

    for user in ("alice", "mallory"):
        with pytest.raises(Unauthorized):
            authenticator.authenticate(basic(f"{user}:wrong"), StaticProvider())

    assert len(hashings) == 2
    # The dummy has the configured users' cost, so both take as long.
    assert hashings[1] != hashings[0]
    assert hashings[1].split("$")[1] == hashings[0].split("$")[1] == "1000"


def test_a_verified_password_is_not_hashed_again_until_its_verdict_expires(
    hashings, clock
):
    authenticator = static_authenticator(cache_seconds=60)
    header = basic("alice:right")

    first = authenticator.authenticate(header, StaticProvider())
    authenticator.authenticate(header, StaticProvider())
    clock.now += 61
    authenticator.authenticate(header, StaticProvider())

    assert len(hashings) == 2
    assert (first.user, first.secret) == ("AKID", "cloudsecret")


def test_a_cached_verdict_is_for_that_password_only(hashings):
    authenticator = static_authenticator()
    authenticator.authenticate(basic("alice:right"), StaticProvider())

    with pytest.raises(Unauthorized):
        authenticator.authenticate(basic("alice:wrong"), StaticProvider())
    with pytest.raises(Unauthorized):
        authenticator.authenticate(basic("alice:wrong"), StaticProvider())

    assert len(hashings) == 2  # the wrong one is judged once, then remembered


# -- verdicts: passthrough, judged by the cloud ---------------------------------


class CloudProvider:
    """A provider whose cloud accepts one key, and counts what it is asked."""

    name = "cloud"

    def __init__(self, failure: Exception | None = None) -> None:
        self.asked = 0
        self.failure = failure

    def check_credentials(self, creds) -> None:
        self.asked += 1
        if self.failure is not None:
            raise self.failure
        if (creds.user, creds.secret) != ("AKID", "good"):
            raise Unauthorized("the cloud refused these credentials")


def test_passthrough_opens_only_to_credentials_the_cloud_accepts(clock):
    authenticator = Authenticator("passthrough", {}, cache_seconds=30)
    cloud = CloudProvider()

    for _ in range(3):
        assert authenticator.authenticate(basic("AKID:good"), cloud).secret == "good"
        with pytest.raises(Unauthorized, match="refused"):
            authenticator.authenticate(basic("AKID:bad"), cloud)
    assert cloud.asked == 2
    clock.now += 31
    authenticator.authenticate(basic("AKID:good"), cloud)
    assert cloud.asked == 3


def test_a_cloud_that_cannot_judge_is_not_taken_for_a_verdict():
    from gateway.cimi.errors import ProviderFailed

    authenticator = Authenticator("passthrough", {})
    cloud = CloudProvider(failure=ProviderFailed("the cloud cannot be reached"))

    for _ in range(2):
        with pytest.raises(ProviderFailed):
            authenticator.authenticate(basic("AKID:good"), cloud)

    assert cloud.asked == 2


def test_a_password_check_that_cannot_start_soon_is_shed(monkeypatch, hashings):
    from gateway.cimi.errors import Busy

    monkeypatch.setattr("gateway.auth.HASH_WAIT_SECONDS", 0.01)
    authenticator = static_authenticator()
    authenticator.passwords._hashing.acquire()  # another guess is being hashed
    try:
        with pytest.raises(Busy) as caught:
            authenticator.authenticate(basic("alice:right"), StaticProvider())
    finally:
        authenticator.passwords._hashing.release()

    assert caught.value.status == 503
    assert hashings == []
    # Shed is no verdict: the same client gets in once the check can run.
    assert authenticator.authenticate(basic("alice:right"), StaticProvider()).user


# -- one check per credentials at a time; verdicts in use ---------------------


def _in_parallel(count: int, call) -> list:
    """Run ``call`` in ``count`` threads at once; return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as ex:  # noqa: BLE001 - the test reads it
            results[i] = ex

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_parallel_first_requests_share_one_password_check(monkeypatch, hashings):
    import gateway.auth

    slow = gateway.auth.verify_password  # the counting one

    def slower(password: str, hashed: str) -> bool:
        time.sleep(0.4)  # longer than a check waits before it is shed
        return slow(password, hashed)

    monkeypatch.setattr(gateway.auth, "verify_password", slower)
    authenticator = static_authenticator()

    results = _in_parallel(
        8, lambda: authenticator.authenticate(basic("alice:right"), StaticProvider())
    )

    assert [getattr(r, "user", r) for r in results] == ["AKID"] * 8
    assert len(hashings) == 1


def test_parallel_first_requests_share_one_cloud_check():
    class SlowCloud(CloudProvider):
        def check_credentials(self, creds) -> None:
            time.sleep(0.2)
            super().check_credentials(creds)

    authenticator = Authenticator("passthrough", {})
    cloud = SlowCloud()

    results = _in_parallel(
        8, lambda: authenticator.authenticate(basic("AKID:good"), cloud)
    )

    assert [getattr(r, "secret", r) for r in results] == ["good"] * 8
    assert cloud.asked == 1


def test_a_check_that_fails_fails_for_everyone_waiting_on_it():
    from gateway.cimi.errors import ProviderFailed

    class DownCloud(CloudProvider):
        def check_credentials(self, creds) -> None:
            time.sleep(0.2)
            super().check_credentials(creds)

    authenticator = Authenticator("passthrough", {})
    cloud = DownCloud(failure=ProviderFailed("the cloud cannot be reached"))

    results = _in_parallel(
        6, lambda: authenticator.authenticate(basic("AKID:good"), cloud)
    )

    assert all(isinstance(r, ProviderFailed) for r in results), results
    assert cloud.asked == 1


def test_static_credentials_in_use_are_not_checked_again(hashings, clock):
    # Under a flood of guesses a re-check would be shed: a user who keeps
    # calling keeps the verdict.
    authenticator = static_authenticator(cache_seconds=60)
    for _ in range(5):
        authenticator.authenticate(basic("alice:right"), StaticProvider())
        clock.now += 50
    assert len(hashings) == 1
    clock.now += 61  # idle longer than the verdict
    authenticator.authenticate(basic("alice:right"), StaticProvider())
    assert len(hashings) == 2


def test_passthrough_verdicts_end_in_use_or_not(clock):
    # The cloud may revoke a key: the gateway asks again every cache_seconds.
    authenticator = Authenticator("passthrough", {}, cache_seconds=60)
    cloud = CloudProvider()
    for _ in range(5):
        authenticator.authenticate(basic("AKID:good"), cloud)
        clock.now += 50
    assert cloud.asked == 3
