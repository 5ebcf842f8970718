"""Who is calling: HTTP Basic credentials, checked per the config's auth mode.

``passthrough``: the request's user and password are the cloud's key and
secret (Deltacloud's way); the provider judges them. ``static``: users and
salted PBKDF2 hashes live in the config and the cloud credentials in the
provider's table, so clients never hold cloud keys.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Mapping

from gateway.cimi.errors import Busy
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import Unauthorized
from providers.base import Credentials
from providers.base import Provider

_SCHEME = "pbkdf2_sha256"
#: how long a password check waits for the one running before it is shed.
HASH_WAIT_SECONDS = 0.25
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ITERATIONS = 260_000


def hash_password(password: str, *, iterations: int = _ITERATIONS) -> str:
    """Return a salted hash of ``password`` for ``[auth.users]``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join(
        (
            _SCHEME,
            str(iterations),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        )
    )


def verify_password(password: str, hashed: str) -> bool:
    """Tell whether ``password`` matches a hash from ``hash_password``."""
    try:
        scheme, iterations, salt, digest = hashed.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except (ValueError, binascii.Error):
        return False
    return scheme == _SCHEME and hmac.compare_digest(actual, expected)


def basic_credentials(header: str | None) -> Credentials:
    """Return the user and password of an ``Authorization: Basic`` header.

    Raises:
        Unauthorized: when the header is missing or not Basic.
    """
    if not header:
        raise Unauthorized("credentials are required (HTTP Basic)")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("only HTTP Basic authentication is supported")
    try:
        # A header is latin-1 text under WSGI: a non-ASCII one is no Base64
        # (b64decode then raises a plain ValueError, binascii.Error's base).
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError as ex:
        raise Unauthorized("malformed HTTP Basic credentials") from ex
    user, sep, password = decoded.partition(":")
    # Control characters would reach the cloud's own request headers.
    if not sep or not user or _CONTROL.search(decoded):
        raise Unauthorized("malformed HTTP Basic credentials")
    return Credentials(user, password)


class Verdicts:
    """Recent verdicts on credentials, by a digest of them, for a short time.

    Keyed by a SHA-256 of what was checked, so no password or secret is kept
    in memory; bounded, oldest first out.

    Args:
        seconds: how long a verdict is trusted.
        size: the most verdicts kept.
    """

    def __init__(self, seconds: float, size: int = 4096) -> None:
        self.seconds = seconds
        self.size = size
        self._verdicts: OrderedDict[bytes, tuple[float, bool]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: str) -> bytes:
        return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).digest()

    def get(self, key: bytes, *, sliding: bool = False) -> bool | None:
        """Return the verdict on ``key`` if it is recent, else None.

        Args:
            sliding: a hit on an acceptance keeps it for ``seconds`` more, so
                credentials in use are never checked again while used.
        """
        now = time.monotonic()
        with self._lock:
            entry = self._verdicts.get(key)
            if entry is None or entry[0] <= now:
                return None
            if sliding and entry[1]:
                self._verdicts[key] = (now + self.seconds, True)
        return entry[1]

    def put(self, key: bytes, accepted: bool) -> None:
        with self._lock:
            self._verdicts[key] = (time.monotonic() + self.seconds, accepted)
            self._verdicts.move_to_end(key)
            while len(self._verdicts) > self.size:
                self._verdicts.popitem(last=False)


class _Flight:
    """A check under way: its end, and how it failed if it did."""

    def __init__(self) -> None:
        self.ended = threading.Event()
        self.accepted = False
        self.error: BaseException | None = None


class Checks:
    """One check at a time per key: who asks while it runs shares its outcome.

    Eight parallel first requests with the same credentials make one cloud
    call or one PBKDF2, not eight (of which the last would be shed); when that
    check fails (the cloud is down, the check was shed), all eight fail alike.
    """

    def __init__(self) -> None:
        self._running: dict[bytes, _Flight] = {}
        self._lock = threading.Lock()

    def run(self, key: bytes, check: Callable[[], bool], verdicts: Verdicts) -> bool:
        """Return the verdict of a check of ``key`` (also put in ``verdicts``).

        The caller checks, or waits for the check already running.
        """
        with self._lock:
            flight = self._running.get(key)
            leading = flight is None
            if leading:
                flight = self._running[key] = _Flight()
        if not leading:
            flight.ended.wait()
            if isinstance(flight.error, CimiError):
                # A copy each: one exception raised in many threads at once
                # would have its traceback written by all of them.
                raise type(flight.error)(flight.error.message)
            if flight.error is not None:
                raise ProviderFailed("checking the credentials failed")
            return flight.accepted
        try:
            flight.accepted = check()
            verdicts.put(key, flight.accepted)
            return flight.accepted
        except BaseException as ex:
            flight.error = ex
            raise
        finally:
            with self._lock:
                del self._running[key]
            flight.ended.set()


class Authenticator:
    """Turn a request's Authorization header into the credentials to act with.

    In ``passthrough`` mode the cloud judges the credentials (one cheap call,
    ``Provider.check_credentials``), so a tenant's records in the gateway open
    only to credentials the cloud accepts. In ``static`` mode the config's
    hashes do, and an unknown user costs as much time as a wrong password.
    Either way a verdict is kept for ``cache_seconds``: the cloud is not asked,
    nor PBKDF2 paid, on every request.

    Args:
        mode: ``passthrough`` or ``static``.
        users: user name to password hash, for ``static``.
        cache_seconds: how long a verdict on credentials is kept.
    """

    def __init__(
        self, mode: str, users: Mapping[str, str], cache_seconds: float = 60
    ) -> None:
        self.mode = mode
        self.users = dict(users)
        self.verdicts = Verdicts(cache_seconds)
        self.checks = Checks()
        self._parsed: dict[tuple, tuple[Credentials, bytes, Credentials]] = {}
        self._parsed_lock = threading.Lock()
        self.passwords = Passwords(users if mode == "static" else {})

    def authenticate(self, header: str | None, provider: Provider) -> Credentials:
        """Return the cloud credentials for this request on ``provider``.

        Raises:
            Unauthorized: for missing or wrong credentials.
            CimiError: when the cloud cannot judge them now (502, 504).
        """
        parsed = self._parsed.get((header, provider.name))
        if parsed is None:
            parsed = self._parse(header, provider)
        given, key, acting = parsed
        if self.mode == "passthrough":
            check = functools.partial(self._cloud_accepts, provider, given)
            self._judge(key, check, "the cloud refused these credentials")
        else:
            check = functools.partial(self.passwords.match, given)
            self._judge(key, check, "unknown user or wrong password")
        return acting

    def _parse(
        self, header: str | None, provider: Provider
    ) -> tuple[Credentials, bytes, Credentials]:
        """Return a header's credentials, their verdict key and who acts.

        PERF(gw): kept per header (a client sends the same one each time), so
        Base64 and SHA-256 are paid once; the verdict is still looked up on
        every request.
        """
        given = basic_credentials(header)
        if self.mode == "passthrough":
            key, acting = Verdicts.key(provider.name, given.user, given.secret), given
        else:
            key = Verdicts.key(given.user, given.secret)
            user, secret = provider.STATIC_CREDENTIALS
            acting = Credentials(
                provider.settings[user] or "",
                provider.settings[secret] or "",
                secret_bound=False,
            )
        with self._parsed_lock:
            self._parsed[(header, provider.name)] = (given, key, acting)
            while len(self._parsed) > self.verdicts.size:
                self._parsed.pop(next(iter(self._parsed)))
        return given, key, acting

    def _judge(self, key: bytes, check: Callable[[], bool], refusal: str) -> None:
        # Static credentials cannot change under a running gateway: an
        # acceptance in use slides. The cloud may revoke a key: passthrough
        # verdicts end after cache_seconds, in use or not.
        sliding = self.mode == "static"
        accepted = self.verdicts.get(key, sliding=sliding)
        if accepted is None:
            accepted = self.checks.run(key, check, self.verdicts)
        if not accepted:
            raise Unauthorized(refusal)

    @staticmethod
    def _cloud_accepts(provider: Provider, given: Credentials) -> bool:
        try:
            provider.check_credentials(given)
        except Unauthorized:
            return False
        return True


class Passwords:
    """Users and their password hashes, checked as a guesser cannot exploit.

    An unknown user is checked against a dummy hash of the same cost, so the
    answer takes as long as a wrong password's (no user enumeration by
    timing). PBKDF2 holds a core for ~75 ms: at most one runs per worker, and
    a check that cannot start soon is shed (503), so a flood of guesses
    leaves the threads and cores to clients whose verdict is cached.

    Args:
        users: user name to a hash from ``hash_password``.
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        self._hashing = threading.BoundedSemaphore(1)
        self._dummy = ""
        if users:
            self._dummy = hash_password(
                secrets.token_hex(16), iterations=_iterations(users)
            )

    def match(self, given: Credentials) -> bool:
        """Tell whether ``given`` is a user and their password.

        Raises:
            Busy: when another check holds the worker's hashing too long.
        """
        hashed = self.users.get(given.user)
        if not self._hashing.acquire(timeout=HASH_WAIT_SECONDS):
            raise Busy("too many password checks at once; try again in a moment")
        try:
            matches = verify_password(given.secret, hashed or self._dummy)
        finally:
            self._hashing.release()
        return hashed is not None and matches


def _iterations(users: Mapping[str, str]) -> int:
    """Return the PBKDF2 rounds of the configured hashes (the most used)."""
    rounds = [hashed.split("$")[1] for hashed in users.values() if "$" in hashed]
    counts = [int(r) for r in rounds if r.isascii() and r.isdigit()]
    return max(counts, default=_ITERATIONS)
