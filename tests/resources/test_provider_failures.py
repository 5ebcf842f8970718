"""When the cloud fails, the client gets 502/504 with its message, never its keys."""

from __future__ import annotations

import pytest
import requests
from libcloud.common.exceptions import BaseHTTPError

from gateway.cimi.errors import NotFound
from gateway.store import Store
from providers.base import Credentials
from providers.mock import MockProvider
from tests.resources.conftest import AUTH
from tests.resources.conftest import app_with


class FailingCloud(MockProvider):
    """The mock cloud, whose driver calls fail with ``failure``."""

    failure: Exception = RuntimeError("unset")

    def list_machine_images(self, creds: Credentials, narrow=None) -> list[dict]:
        with self.calling(creds, "list_machine_images"):
            raise self.failure

    def page_machine_images(self, creds: Credentials, page: slice) -> None:
        with self.calling(creds, "page_machine_images"):
            raise self.failure


@pytest.mark.parametrize(
    ("failure", "status", "words"),
    [
        pytest.param(
            requests.ReadTimeout("read timed out"), 504, "in time", id="timeout"
        ),
        pytest.param(
            requests.ConnectionError("refused"), 502, "cannot be reached", id="refused"
        ),
        pytest.param(
            BaseHTTPError(500, "InternalError: mockpassword went wrong"),
            502,
            "InternalError",
            id="cloud-error",
        ),
        pytest.param(ValueError("odd reply"), 502, "odd reply", id="odd-reply"),
    ],
)
def test_cloud_failures_map_to_gateway_errors(tmp_path, failure, status, words):
    provider = FailingCloud("mock", {}, Store(f"sqlite:///{tmp_path}/f.sqlite3"))
    provider.failure = failure
    client = app_with({"mock": provider}, tmp_path)

    response = client.simulate_get(
        "/cimi/machine_images", headers={**AUTH, "Accept": "application/json"}
    )

    assert response.status_code == status
    assert words in response.json["message"]
    assert "mockpassword" not in response.text
    assert response.headers["CIMI-Specification-Version"] == "1.0.1"


def test_unexpected_bug_is_a_bare_500_without_traceback(tmp_path, caplog):
    class BrokenCloud(MockProvider):
        def get_machine_image(self, creds, image_id):
            raise KeyError("internal detail")

    provider = BrokenCloud("mock", {}, Store(f"sqlite:///{tmp_path}/b.sqlite3"))
    client = app_with({"mock": provider}, tmp_path)

    response = client.simulate_get("/cimi/machine_images/img1", headers=AUTH)

    assert response.status_code == 500
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "internal detail" in caplog.text


def test_not_found_from_the_cloud_is_404(tmp_path):
    class EmptyCloud(MockProvider):
        def get_machine(self, creds, machine_id):
            raise NotFound(f"no machine {machine_id}")

    provider = EmptyCloud("mock", {}, Store(f"sqlite:///{tmp_path}/e.sqlite3"))
    client = app_with({"mock": provider}, tmp_path)

    response = client.simulate_get("/cimi/machines/zzz", headers=AUTH)

    assert response.status_code == 404
    assert "zzz" in response.text
