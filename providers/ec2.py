"""The ``ec2`` cloud: Amazon EC2, or an EC2-compatible API, through libcloud.

libcloud's ``EC2NodeDriver`` is used as it is, with two adjustments so that it
also speaks to moto, LocalStack and Eucalyptus: requests are always signed with
SigV4 (a SigV2 GET carries no ``Authorization`` header, and moto then routes it
to S3), and answers are parsed whatever EC2 XML namespace they carry.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import LibcloudError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.drivers.ec2 import NAMESPACE
from libcloud.compute.drivers.ec2 import EC2Connection
from libcloud.compute.drivers.ec2 import EC2NodeDriver
from libcloud.compute.drivers.ec2 import EC2Response

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import Unauthorized
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import Credentials
from providers.base import LibcloudProvider
from providers.base import Setting

# EC2's own image and instance states, to CIMI's; anything else is an ERROR.
IMAGE_STATE = {
    "pending": "CREATING",
    "available": "AVAILABLE",
    "deregistered": "DELETING",
    "failed": "ERROR",
    "invalid": "ERROR",
    "error": "ERROR",
}
MACHINE_STATE = {
    "pending": "CREATING",
    "running": "STARTED",
    "stopping": "STOPPING",
    "stopped": "STOPPED",
    "shutting-down": "DELETING",
    "terminated": "DELETING",
    "rebooting": "STARTING",
}

# EC2 error codes to our errors; ``Family.*`` covers every code of a family
# (InvalidAMIID.NotFound, InvalidAMIID.Malformed...). Unknown codes are left
# to the base, which answers 502 with the cloud's message.
ERRORS: dict[str, type[CimiError]] = {
    "InvalidAMIID.*": NotFound,
    "InvalidInstanceID.*": NotFound,
    "AuthFailure": Unauthorized,
    "InvalidClientTokenId": Unauthorized,
    "SignatureDoesNotMatch": Unauthorized,
    "UnauthorizedOperation": Unauthorized,
    "InvalidAMIName.Duplicate": Conflict,
    "InvalidAMIName.Malformed": BadRequest,
    "IncorrectInstanceState": Conflict,
    "InvalidParameterValue": BadRequest,
}
_ERROR_CODE = re.compile(r"^([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*): ")

_EC2_XMLNS = re.compile(r'xmlns="http://ec2\.amazonaws\.com/doc/[^"]*"')
_LIBCLOUD_XMLNS = f'xmlns="{NAMESPACE}"'

# Machines CreateImage accepts: EBS-backed, and running or stopped.
_CAPTURABLE = frozenset({"running", "stopped"})


class AnyNamespaceEC2Response(EC2Response):
    """Parse EC2 answers whichever API version their namespace names.

    libcloud looks elements up in its own API version's namespace, so an
    answer in another one (moto writes ``.../2016-11-15`` without the slash,
    Eucalyptus its own) parses as empty lists, silently.
    """

    def parse_body(self) -> Any:
        if isinstance(self.body, str):
            self.body = _EC2_XMLNS.sub(_LIBCLOUD_XMLNS, self.body, count=1)
        return super().parse_body()

    def parse_error(self) -> Any:
        # libcloud reads ``Errors/Error`` without a namespace, as real AWS
        # writes it; with one, every error would lose its code and message.
        if isinstance(self.body, str):
            body = _EC2_XMLNS.sub("", self.body, count=1)
            self.body = body.replace("<Response >", "<Response>", 1)
        return super().parse_error()


class AnyNamespaceEC2Connection(EC2Connection):
    responseCls = AnyNamespaceEC2Response


class GatewayEC2NodeDriver(EC2NodeDriver):
    """libcloud's EC2 driver, reading any EC2 XML namespace."""

    connectionCls = AnyNamespaceEC2Connection


@cache
def instance_types() -> dict[str, tuple[int | None, int | None]]:
    """Return vCPUs and memory (KiB) of every EC2 instance type libcloud knows.

    This is the static table behind ``list_sizes`` (no HTTP), read directly so
    that mapping a node needs no driver, region or price lookup.
    """
    from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES

    table = {}
    for name, spec in INSTANCE_TYPES.items():
        vcpu = str(spec.get("extra", {}).get("vcpu", ""))
        ram = spec.get("ram")
        table[name] = (
            int(vcpu) if vcpu.isdigit() else None,
            int(ram) * 1024 if ram else None,
        )
    return table


def _aware(value: datetime | str | None) -> datetime | None:
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # libcloud's dates carry its own UTC class; ours compare and print plainly.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _error_text(ex: Exception) -> str | None:
    # ProviderError's str() is a repr with quotes; its value is the plain text.
    if isinstance(ex, LibcloudError):
        return str(ex.value)
    if isinstance(ex, BaseHTTPError):
        return str(ex.message)
    return None


class EC2Provider(LibcloudProvider):
    """The ``ec2`` driver of the config: one EC2 region."""

    kind = "ec2"
    SETTINGS = {
        "region": Setting(str, required=True, help="the EC2 region, e.g. us-east-1"),
        "endpoint": Setting(
            str,
            help="URL of an EC2-compatible API (e.g. http://127.0.0.1:5000); "
            "unset for Amazon's own endpoint of the region",
        ),
        "key": Setting(str, help="access key id, for static auth"),
        "secret": Setting(str, help="secret access key, for static auth"),
        "image_owners": Setting(
            list,
            default=["self"],
            help="owners whose AMIs are listed: self, amazon, or account ids",
        ),
        "timeout": Setting(
            (int, float), default=30, help="seconds to wait for each EC2 answer"
        ),
    }

    def setting(self, name: str) -> Any:
        """Return the configured value of ``name``, or its default."""
        value = self.settings.get(name)
        return self.SETTINGS[name].default if value is None else value

    def make_driver(self, creds: Credentials) -> GatewayEC2NodeDriver:
        where: dict[str, Any] = {}
        endpoint = self.setting("endpoint")
        if endpoint:
            url = urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ValueError(f"ec2 endpoint is not an http(s) URL: {endpoint}")
            secure = url.scheme == "https"
            where = {
                "host": url.hostname,
                "port": url.port or (443 if secure else 80),
                "secure": secure,
            }
        return GatewayEC2NodeDriver(
            creds.user,
            creds.secret,
            region=self.setting("region"),
            signature_version="4",
            timeout=self.setting("timeout"),
            **where,
        )

    def translate(self, ex: Exception) -> CimiError | None:
        text = _error_text(ex)
        match = _ERROR_CODE.match(text or "")
        if not match:
            return None
        code = match.group(1)
        error = ERRORS.get(code) or ERRORS.get(code.split(".")[0] + ".*")
        return error(text) if error else None

    def check_credentials(self, creds: Credentials) -> None:
        # EC2 checks the signature of every call; a wrong key fails there.
        return None

    def entry_point(self, creds: Credentials) -> dict:
        return {
            "name": self.name,
            "description": f"EC2 region {self.setting('region')}",
            "created": None,
        }

    # -- mapping: the only reads of EC2's `extra` -----------------------------

    def to_machine_image(self, image: NodeImage) -> dict:
        extra = image.extra or {}
        return {
            "id": image.id,
            "name": image.name or image.id,
            "description": extra.get("description") or "",
            "created": _aware(extra.get("creation_date")),
            "state": IMAGE_STATE.get(extra.get("state") or "", "ERROR"),
            "type": "IMAGE",
            "imageLocation": f"ec2://{image.id}",
            # NOTE: always offered: knowing whether the caller owns the image
            # would take an account lookup; EC2 refuses the deletion of
            # another account's AMI, which then reaches the client as an error.
            "operations": (DELETE,),
        }

    def to_machine(self, node: Node) -> dict:
        extra = node.extra or {}
        status = extra.get("status") or ""
        cpu, memory = instance_types().get(
            extra.get("instance_type") or "", (None,) * 2
        )
        capturable = extra.get("root_device_type") == "ebs" and status in _CAPTURABLE
        return {
            "id": node.id,
            "name": node.name or node.id,
            "created": _aware(node.created_at),
            "state": MACHINE_STATE.get(status, "ERROR"),
            "cpu": cpu,
            "memory": memory,
            "cpuArch": extra.get("architecture") or None,
            "operations": (CAPTURE,) if capturable else (),
        }

    # -- how EC2 finds things ------------------------------------------------

    def fetch_images(self, driver: GatewayEC2NodeDriver) -> list[NodeImage]:
        # Real EC2 has hundreds of thousands of public AMIs: list the
        # configured owners only; any id can still be read directly.
        images: dict[str, NodeImage] = {}
        for owner in self.setting("image_owners"):
            for image in driver.list_images(ex_owner=owner):
                images.setdefault(image.id, image)
        return [images[key] for key in sorted(images)]

    def find_image(self, driver: GatewayEC2NodeDriver, image_id: str) -> NodeImage:
        # libcloud's get_image raises IndexError on an empty answer.
        images = driver.list_images(ex_image_ids=[image_id])
        if not images:
            raise NotFound(f"no machine image {image_id}")
        return images[0]

    def is_listed(self, node: Node) -> bool:
        # EC2 lists terminated instances for about an hour; for a CIMI
        # client they are gone.
        return (node.extra or {}).get("status") != "terminated"

    def create_image(
        self, driver: GatewayEC2NodeDriver, node: Node, values: dict
    ) -> NodeImage:
        # EC2 requires a name; one per machine and second is unlikely to clash.
        name = values.get("name") or f"{node.id}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        # EC2 refuses a second AMI of one name in an account; moto does not.
        taken = driver.list_images(ex_owner="self", ex_filters={"name": name})
        if any(image.name == name for image in taken):
            raise Conflict(f"a machine image named {name} exists already")
        stub = driver.create_image(node, name, description=values.get("description"))
        # libcloud only reads the new id back: the image needs a read.
        return self.find_image(driver, stub.id)
