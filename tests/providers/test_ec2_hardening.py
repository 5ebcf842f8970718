"""EC2 that cannot be truncated, poisoned, misread or held (issue 6, E1-E5).

libcloud's real EC2 driver against moto on 127.0.0.1, or against stand-ins
that answer what a misconfigured proxy or a failing cloud would.
"""

from __future__ import annotations

import threading

import pytest
from libcloud.common.exceptions import BaseHTTPError
from libcloud.compute.base import Node

from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import ProviderTimeout
from gateway.cimi.errors import Unauthorized
from providers.base import Credentials
from providers.ec2 import EC2Provider
from providers.ec2_driver import GatewayEC2NodeDriver
from tests.support.moto import FIXTURE_AMI
from tests.support.moto import driver_for
from tests.support.moto import run_instance
from tests.support.standins import dripping
from tests.support.standins import elapsed
from tests.support.standins import fixed
from tests.support.standins import standin

CREDS = Credentials("AKIDEXAMPLE", "secretexample")


def make_provider(endpoint: str, **settings: object) -> EC2Provider:
    return EC2Provider(
        "ec2", {"region": "us-east-1", "endpoint": endpoint, **settings}, store=None
    )


def launch(endpoint: str, count: int) -> list[str]:
    """Launch ``count`` instances, one reservation each; return their ids."""
    from libcloud.compute.base import NodeImage
    from libcloud.compute.base import NodeSize

    driver = driver_for(endpoint)
    image = NodeImage(FIXTURE_AMI, None, driver)
    size = NodeSize("t3.micro", "t3.micro", None, None, None, None, driver)
    return [
        driver.create_node(name=f"m{n}", image=image, size=size).id
        for n in range(count)
    ]


# -- E2: every page ---------------------------------------------------------------


def test_machines_are_listed_over_every_page(moto_reset, monkeypatch):
    launched = launch(moto_reset, 7)
    monkeypatch.setattr(GatewayEC2NodeDriver, "page_size", 3)  # 3 pages

    listed = make_provider(moto_reset).list_machines(CREDS)

    assert sorted(m["id"] for m in listed) == sorted(launched)


def test_more_reservations_than_moto_answers_at_once(moto_reset):
    # moto pages DescribeInstances by 100 reservations when not told more.
    launched = launch(moto_reset, 101)

    listed = make_provider(moto_reset).list_machines(CREDS)

    assert len(listed) == 101
    assert {m["id"] for m in listed} == set(launched)


def test_a_page_token_that_comes_back_is_a_failure_not_a_loop(monkeypatch):
    answer = (
        b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        b"<reservationSet/><nextToken>again</nextToken></DescribeInstancesResponse>"
    )
    with (
        standin(fixed("200 OK", "text/xml", answer)) as url,
        pytest.raises(ProviderFailed, match="repeats the page token"),
    ):
        make_provider(url).list_machines(CREDS)


# -- E1 and E3: answers that cannot be read ----------------------------------------


def test_an_unparsable_answer_is_a_short_502(moto_reset):
    # A tag XML cannot carry, written behind the gateway's back (EC2 and
    # moto store it): DescribeInstances is no longer well-formed XML.
    machine = run_instance(moto_reset)
    driver_for(moto_reset).ex_create_tags(
        Node(machine, "", None, [], [], None), {"k": "x\x0cy"}
    )

    with pytest.raises(ProviderFailed) as caught:
        make_provider(moto_reset).list_machines(CREDS)

    message = caught.value.message
    assert "cannot be read: not well-formed XML" in message
    assert len(message) <= 600
    assert " at 0x" not in message and "DescribeInstancesResponse" not in message


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body><h1>Welcome to nginx!</h1></body></html>"),
        ("text/html", b"<!DOCTYPE html><html><body>login<br></body></html>"),
        ("application/json", b'{"ok": true}'),
        ("text/xml", b""),
        ("text/xml", b"<Response><Errors/></Response>"),
    ],
    ids=["xhtml", "html", "json", "empty", "other-xml"],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.list_machines(CREDS),
        lambda p: p.list_machine_images(CREDS),
        lambda p: p.get_machine(CREDS, "i-0123456789abcdef0"),
        lambda p: p.check_credentials(CREDS),
    ],
    ids=["machines", "images", "machine", "credentials"],
)
def test_an_answer_that_is_not_ec2s_is_a_502_not_an_empty_list(
    content_type, body, call
):
    with (
        standin(fixed("200 OK", content_type, body)) as url,
        pytest.raises(ProviderFailed, match="cannot be read") as caught,
    ):
        call(make_provider(url))

    assert len(caught.value.message) <= 600


def test_an_error_page_that_is_not_ec2s_is_a_short_502():
    page = b"<html><head><title>502 Bad Gateway</title></head>" + b"x" * 50_000
    with (
        standin(fixed("502 Bad Gateway", "text/html", page)) as url,
        pytest.raises(ProviderFailed, match="HTTP 502 with no EC2 error") as caught,
    ):
        make_provider(url).list_machines(CREDS)

    assert len(caught.value.message) <= 600


# -- E4: the whole call has a deadline -------------------------------------------


def test_a_cloud_dripping_its_answer_is_cut_at_the_deadline():
    # 4096 bytes at 0.3 s each: 20 minutes, each read well inside `timeout`.
    with standin(dripping(0.3)) as url:
        took, error = elapsed(
            lambda: make_provider(url, timeout=1).list_machines(CREDS)
        )

    assert isinstance(error, ProviderTimeout), error
    assert "did not answer within 1 s" in error.message
    assert took < 10


def test_the_deadline_leaves_a_quick_cloud_alone(moto_reset):
    launched = launch(moto_reset, 2)
    provider = make_provider(moto_reset, timeout=5)

    for _ in range(3):  # the watchdog must not shut a pooled connection later
        assert len(provider.list_machines(CREDS)) == len(launched)


# -- E5: credentials are judged by the cloud -----------------------------------------


def test_credentials_the_cloud_accepts_pass(moto_reset):
    make_provider(moto_reset).check_credentials(CREDS)


def test_credentials_the_cloud_refuses_are_unauthorized(moto_refusing):
    with pytest.raises(Unauthorized):
        make_provider(moto_refusing).check_credentials(CREDS)


def test_a_key_without_the_right_to_the_check_still_passes(moto_reset, monkeypatch):
    def forbidden(self, region):
        raise BaseHTTPError(403, "UnauthorizedOperation: not for you")

    monkeypatch.setattr(GatewayEC2NodeDriver, "ex_describe_region", forbidden)

    make_provider(moto_reset).check_credentials(CREDS)


def test_a_cloud_that_cannot_be_reached_cannot_judge(tmp_path):
    from tests.e2e.gunicorn import free_port

    with pytest.raises(ProviderFailed, match="cannot be reached"):
        make_provider(f"http://127.0.0.1:{free_port()}").check_credentials(CREDS)


def test_a_call_that_finished_never_has_a_socket_shut_after(monkeypatch):
    # The watchdog shuts an expired call's sockets; a socket may be pooled and
    # serve the thread's next call at once, so once finish() has returned,
    # no shut of the old call may still be under way.
    import socket
    import time

    from providers import deadline as deadline_module

    events: list[str] = []
    started = threading.Event()
    real_shut = deadline_module._shut

    def slow_shut(sock):
        events.append("shut begins")
        started.set()
        time.sleep(0.2)  # the watchdog thread pre-empted mid-way
        real_shut(sock)
        events.append("shut ends")

    monkeypatch.setattr(deadline_module, "_shut", slow_shut)
    ours, theirs = socket.socketpair()
    try:
        with deadline_module.deadline(0.05) as bound:
            deadline_module._watchdog().watch(bound, ours)
            assert started.wait(2)
        events.append("call finished")
    finally:
        ours.close()
        theirs.close()

    assert events == ["shut begins", "shut ends", "call finished"]
