"""Credentials: HTTP Basic parsing and the salted hashes of static mode."""

from __future__ import annotations

import base64

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
    authenticator._hashing.acquire()  # another guess is being hashed
    try:
        with pytest.raises(Busy) as caught:
            authenticator.authenticate(basic("alice:right"), StaticProvider())
    finally:
        authenticator._hashing.release()

    assert caught.value.status == 503
    assert hashings == []
    # Shed is no verdict: the same client gets in once the check can run.
    assert authenticator.authenticate(basic("alice:right"), StaticProvider()).user
