"""The ``ec2`` cloud: Amazon EC2, or an EC2-compatible API, through libcloud.

libcloud's EC2 driver is used with the fixes of ``providers/ec2_driver.py``,
always signing with SigV4 (a SigV2 GET carries no ``Authorization`` header,
and moto then routes it to S3). A machine's CIMI name, description and
properties are its EC2 tags: ``Name``, ``Description`` and every other tag
but those EC2 keeps for itself (``aws:*``). The machine configurations are
libcloud's static instance types, mapped in ``providers/ec2_sizes.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import LibcloudError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot
from libcloud.compute.drivers.ec2 import VALID_EC2_REGIONS

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import Forbidden
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import ProviderUnavailable
from gateway.cimi.errors import Unauthorized
from providers.base import DELETE
from providers.base import DISASSOCIATE
from providers.base import EDIT
from providers.base import KIB_PER_GIB
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import Setting
from providers.base import VolumeSpec
from providers.base import aware_utc
from providers.base import check_endpoint
from providers.base import check_positive
from providers.base import decode_user_data
from providers.base import machine_operations
from providers.ec2_driver import GatewayEC2NodeDriver
from providers.ec2_sizes import instance_types
from providers.ec2_sizes import region_sizes
from providers.ec2_sizes import to_machine_configuration
from providers.families import Narrowing
from providers.families import ServesAddresses
from providers.families import ServesNetworks
from providers.families import machine_actions
from providers.libcloud_credentials import LibcloudCredentials
from providers.libcloud_provider import LibcloudProvider
from providers.libcloud_provider import cloud_text
from providers.libcloud_volumes import LibcloudVolumes

log = logging.getLogger("gateway.ec2")

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

# EBS volume states to CIMI's (in use is AVAILABLE: attachments say where).
VOLUME_STATE = {
    "creating": "CREATING",
    "available": "AVAILABLE",
    "in-use": "AVAILABLE",
    "deleting": "DELETING",
    "deleted": "DELETING",
    "error": "ERROR",
}
SNAPSHOT_STATE = {
    "pending": "CREATING",
    "completed": "AVAILABLE",
    "error": "ERROR",
    "recoverable": "ERROR",
    "recovering": "CREATING",
}
ATTACHMENT_STATE = {
    "attaching": "ATTACHING",
    "attached": "ATTACHED",
    "detaching": "DETACHING",
    "busy": "ATTACHED",
}
# The EBS volume types, the smallest volume (GiB) each makes, and what it is;
# libcloud has no table of them and EC2 no call listing them.
VOLUME_TYPES = {
    "gp3": (1, "General Purpose SSD (gp3)"),
    "gp2": (1, "General Purpose SSD (gp2)"),
    "io2": (4, "Provisioned IOPS SSD (io2)"),
    "io1": (4, "Provisioned IOPS SSD (io1)"),
    "st1": (125, "Throughput Optimized HDD (st1)"),
    "sc1": (125, "Cold HDD (sc1)"),
    "standard": (1, "Magnetic (standard)"),
}
#: the devices EC2 suggests for data volumes, in the order they are given out.
DATA_DEVICES = tuple(f"/dev/sd{letter}" for letter in "fghijklmnop")
# CIMI has no IOPS attribute, and EC2 refuses an io1/io2 volume without one
# (InvalidParameterDependency): such a volume gets gp3's baseline, 3000 IOPS,
# within what its size allows (IOPS per GiB) and at least EC2's floor, 100.
PROVISIONED_IOPS_PER_GIB = {"io1": 50, "io2": 500}
BASELINE_IOPS = 3000
MINIMUM_IOPS = 100

# EC2 error codes to our errors; ``Family.*`` covers every code of a family
# (InvalidAMIID.NotFound, InvalidAMIID.Malformed...). Unknown codes are left
# to the base, which answers 502 with the cloud's message.
ERRORS: dict[str, type[CimiError]] = {
    "InvalidAMIID.*": NotFound,
    "InvalidInstanceID.*": NotFound,
    "InvalidVolume.NotFound": NotFound,
    "InvalidVolume.Malformed": NotFound,
    "InvalidSnapshot.NotFound": NotFound,
    "InvalidSnapshot.Malformed": NotFound,
    "InvalidKeyPair.Duplicate": Conflict,
    "InvalidKey.Format": BadRequest,
    "VolumeInUse": Conflict,
    "OperationNotPermitted": Conflict,
    "InvalidVolume.ZoneMismatch": Conflict,
    "IncorrectState": Conflict,
    "InvalidSnapshot.InUse": Conflict,
    "VolumeLimitExceeded": ProviderUnavailable,
    "AuthFailure": Unauthorized,
    "InvalidClientTokenId": Unauthorized,
    "SignatureDoesNotMatch": Unauthorized,
    "UnauthorizedOperation": Forbidden,  # known credentials, no permission
    "InvalidAMIName.Duplicate": Conflict,
    "InvalidAMIName.Malformed": BadRequest,
    "IncorrectInstanceState": Conflict,
    "UnsupportedOperation": Conflict,
    "InvalidParameterValue": BadRequest,
    "InvalidParameterCombination": BadRequest,
    "InvalidParameterDependency": BadRequest,
    "InvalidSubnetID.*": NotFound,
    "InvalidIPAddress.InUse": Conflict,
    "AddressLimitExceeded": ProviderUnavailable,
    "SnapshotCreationPerVolumeRateExceeded": ProviderUnavailable,
    "InvalidAttachment.NotFound": NotFound,
    "InvalidAllocationID.NotFound": NotFound,
    "InvalidAssociationID.NotFound": NotFound,
    "Resource.AlreadyAssociated": Conflict,
    "InvalidKeyPair.*": BadRequest,
    "InvalidInstanceType": BadRequest,
    "InvalidUserData.*": BadRequest,
    "TagLimitExceeded": BadRequest,
    "InsufficientInstanceCapacity": ProviderUnavailable,
}
# The CIMI attribute a client error of an EC2 error family came from.
CULPRITS = {
    "InvalidKeyPair": "credential",
    "InvalidKey": "key",
    "InvalidInstanceType": "machineConfig",
    "InvalidUserData": "userData",
    "TagLimitExceeded": "property",
}
_ERROR_CODE = re.compile(r"^([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*): ")

# The tags a machine's name and description live in; EC2 keeps ``aws:*``.
NAME_TAG = "Name"
DESCRIPTION_TAG = "Description"
_AWS_PREFIX = "aws:"
INITIAL_STATES = ("STARTED", "STOPPED")


# What of a client's filter EC2 can apply itself: CIMI attribute to the
# DescribeInstances / DescribeImages filter name. A name is left to the
# gateway: an unnamed machine's (or image's) CIMI name is its id.
MACHINE_FILTERS = {"id": "instance-id", "state": "instance-state-name"}
IMAGE_FILTERS = {"id": "image-id", "state": "state"}


def ec2_filters(
    narrow: Narrowing | None, names: Mapping[str, str], states: Mapping[str, str]
) -> dict[str, list[str]] | None:
    """Return the ``Filter.N`` EC2 can apply for ``narrow``; None: none can match.

    A state is pushed only when every state wanted has EC2 names (ERROR is
    also whatever EC2 state we do not know, so it is never pushed).
    """
    filters: dict[str, list[str]] = {}
    for attr, values in (narrow or {}).items():
        if attr not in names:
            continue
        if not values:
            return None
        if attr == "state":
            wanted = [k for k, v in states.items() if v in values]
            if "ERROR" in values or {states.get(k) for k in wanted} != set(values):
                continue
            values = frozenset(wanted)
        filters[names[attr]] = sorted(values)
    return filters


def check_region(value: str) -> None:
    """Refuse a region libcloud's EC2 driver does not know (it would fail)."""
    if value not in VALID_EC2_REGIONS:
        raise ValueError(
            f"'{value}' is not an EC2 region libcloud knows (e.g. us-east-1)"
        )


def provisioned_iops(volume_type: str, capacity_gib: int) -> int | None:
    """Return the IOPS to ask for a ``volume_type`` volume of ``capacity_gib``
    (None for a type that takes no IOPS)."""
    per_gib = PROVISIONED_IOPS_PER_GIB.get(volume_type)
    if per_gib is None:
        return None
    return max(MINIMUM_IOPS, min(BASELINE_IOPS, per_gib * capacity_gib))


def property_tags(properties: Mapping[str, str]) -> dict[str, str]:
    """Return the EC2 tags holding CIMI ``properties``.

    Raises:
        BadRequest: for a key that is not a property on EC2: the name and
            description tags, and the ``aws:`` keys EC2 keeps for itself.
    """
    for key in properties:
        if key in (NAME_TAG, DESCRIPTION_TAG) or key.lower().startswith(_AWS_PREFIX):
            raise BadRequest(f"property {key!r}: a reserved tag on EC2")
    return {key: str(value) for key, value in properties.items()}


def tag_properties(tags: Mapping[str, str]) -> dict[str, str]:
    """Return the CIMI properties among a resource's EC2 tags, by key."""
    return {
        key: tags[key]
        for key in sorted(tags)
        if key not in (NAME_TAG, DESCRIPTION_TAG)
        and not key.lower().startswith(_AWS_PREFIX)
    }


class EC2Provider(
    LibcloudVolumes,
    LibcloudCredentials,
    ServesNetworks,
    ServesAddresses,
    LibcloudProvider,
):
    """The ``ec2`` driver of the config: one EC2 region."""

    kind = "ec2"
    initial_states = INITIAL_STATES
    forces_stop = True  # StopInstances' Force
    SETTINGS = {
        "region": Setting(
            str,
            required=True,
            help="the EC2 region, e.g. us-east-1",
            check=check_region,
        ),
        "endpoint": Setting(
            str,
            help="URL of an EC2-compatible API (e.g. http://127.0.0.1:5000); "
            "unset for Amazon's own endpoint of the region",
            check=check_endpoint,
        ),
        "key": Setting(str, help="access key id, for static auth"),
        "secret": Setting(str, help="secret access key, for static auth"),
        "image_owners": Setting(
            list,
            default=["self"],
            help="owners whose AMIs are listed: self, amazon, or account ids",
        ),
        "availability_zone": Setting(
            str,
            help="the zone new volumes are made in (machines there can take "
            "them); unset: the region's first",
        ),
        "timeout": Setting(
            (int, float),
            default=30,
            help="seconds one EC2 call may take in all (connect and read)",
            check=check_positive,
        ),
    }

    def __init__(self, name: str, settings: Mapping[str, Any], store: Any) -> None:
        super().__init__(name, settings, store)
        # The mapped machine configurations, by id, of each region.
        self._configs: dict[str, dict[str, dict]] = {}
        # The zone new volumes go to, of each region.
        self._zones: dict[str, str] = {}

    def make_driver(self, creds: Credentials) -> GatewayEC2NodeDriver:
        where: dict[str, Any] = {}
        endpoint = self.setting("endpoint")
        if endpoint:
            url = urlsplit(endpoint)  # checked when the config was read
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

    def call_timeout(self) -> float:
        return self.setting("timeout")

    def probe_url(self) -> str:
        return self.setting("endpoint") or (
            f"https://ec2.{self.setting('region')}.amazonaws.com/"
        )

    def translate(self, ex: Exception) -> CimiError | None:
        if not isinstance(ex, LibcloudError | BaseHTTPError):
            return None
        text = cloud_text(ex)
        match = _ERROR_CODE.match(text)
        if not match:
            return None
        code = match.group(1)
        family = code.split(".")[0]
        error = ERRORS.get(code) or ERRORS.get(family + ".*")
        if error is None:
            return None
        culprit = CULPRITS.get(family)
        return error(f"{culprit}: {text}" if culprit else text)

    def verify(self, driver: GatewayEC2NodeDriver) -> None:
        # One small signed call: a wrong key or secret fails it (AuthFailure),
        # a key without the right to it (UnauthorizedOperation) passes.
        driver.ex_describe_region(self.setting("region"))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": f"EC2 region {self.setting('region')}",
        }

    # -- mapping: the only reads of EC2's `extra` -----------------------------

    def to_machine_image(self, image: NodeImage) -> dict:
        extra = image.extra or {}
        return {
            "id": image.id,
            "name": image.name or image.id,
            "description": extra.get("description") or "",
            "created": aware_utc(extra.get("creation_date")),
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
        tags = extra.get("tags") or {}
        state = MACHINE_STATE.get(extra.get("status") or "", "ERROR")
        root = extra.get("root_device_type")
        # An instance-store machine cannot stop (it only reboots or ends), nor
        # be captured by CreateImage.
        operations = machine_operations(
            state,
            capturable=root == "ebs",
            stoppable=root != "instance-store",
            offered=machine_actions(self),
        )
        cpu, memory = instance_types().get(
            extra.get("instance_type") or "", (None,) * 2
        )
        return {
            "id": node.id,
            "name": tags.get(NAME_TAG) or node.id,
            "description": tags.get(DESCRIPTION_TAG, ""),
            "created": aware_utc(node.created_at),
            "property": tag_properties(tags),
            "state": state,
            "cpu": cpu,
            "memory": memory,
            "cpuArch": extra.get("architecture") or None,
            "operations": operations,
        }

    def to_machine_configuration(self, size: NodeSize) -> dict:
        return to_machine_configuration(size)

    # -- machine configurations: static, mapped once per region ---------------

    def fetch_sizes(self, driver: GatewayEC2NodeDriver) -> list[NodeSize]:
        return list(region_sizes(self.setting("region")))

    def list_machine_configurations(self, creds: Credentials) -> list[dict]:
        # Copies, so that no caller can change what the next one reads.
        return [dict(config) for config in self._configurations(creds).values()]

    def get_machine_configuration(self, creds: Credentials, config_id: str) -> dict:
        config = self._configurations(creds).get(config_id)
        if config is None:
            raise NotFound(f"no machine configuration {config_id}")
        return dict(config)

    def _configurations(self, creds: Credentials) -> dict[str, dict]:
        # PERF: mapping ~800 sizes takes milliseconds; they depend on the
        # region only (libcloud's static data), never on the credentials.
        region = self.setting("region")
        configs = self._configs.get(region)
        if configs is None:
            with self.calling(creds, "list_machine_configurations"):
                sizes = region_sizes(region)
            configs = {size.id: self.to_machine_configuration(size) for size in sizes}
            self._configs[region] = configs
        return configs

    # -- machines ------------------------------------------------------------

    def create_node(
        self,
        driver: GatewayEC2NodeDriver,
        spec: MachineSpec,
        size: NodeSize,
        image: NodeImage,
    ) -> Node:
        if spec.initial_state not in INITIAL_STATES:
            raise BadRequest(f"initialState {spec.initial_state!r}: not offered")
        user_data = decode_user_data(spec.user_data)
        tags = property_tags(spec.properties)
        if spec.description:
            tags[DESCRIPTION_TAG] = spec.description
        # The tags go in with RunInstances, so no machine is ever untagged.
        # NOTE: libcloud always writes a Name tag (None fails); "" reads as
        # no name.
        node = driver.create_node(
            name=spec.name,
            size=size,
            image=image,
            ex_keyname=spec.key_name or None,
            ex_userdata=user_data or None,  # libcloud encodes it in Base64
            ex_metadata=tags,
        )
        if spec.initial_state == "STOPPED":
            # NOTE: EC2 has no "launch stopped", and refuses to stop a pending
            # instance. moto is running at the next describe, real EC2 after
            # 10-60 s: then the machine is left running rather than holding a
            # request that long, and the client sees STARTED.
            node = self._reread(driver, node)
            if node.extra.get("status") == "running":
                driver.stop_node(node)
            else:
                log.warning("%s is %s: not stopped", node.id, node.extra.get("status"))
        return self._reread(driver, node)

    def _reread(self, driver: GatewayEC2NodeDriver, node: Node) -> Node:
        """Return ``node`` as EC2 describes it now, if EC2 knows it yet.

        EC2 is eventually consistent: an instance just launched can be
        unknown to DescribeInstances for a few seconds.
        """
        try:
            return self.find_node(driver, node.id)
        except NotFound:
            return node
        except BaseHTTPError as ex:
            if isinstance(self.translate(ex), NotFound):
                return node
            raise

    def set_metadata(
        self, driver: GatewayEC2NodeDriver, node: Node, values: dict
    ) -> None:
        self._retag(driver, node, node.extra.get("tags") or {}, values)

    def _retag(
        self,
        driver: GatewayEC2NodeDriver,
        resource: Any,
        tags: Mapping[str, str],
        values: dict,
    ) -> None:
        """Keep a resource's CIMI name, description and properties in its tags."""
        wanted: dict[str, str] = {}
        gone: list[str] = []
        for attribute, tag in (("name", NAME_TAG), ("description", DESCRIPTION_TAG)):
            if attribute in values:
                if values[attribute]:
                    wanted[tag] = values[attribute]
                elif tag in tags:
                    gone.append(tag)
        if "property" in values:  # the whole set: what is not given goes
            properties = property_tags(values["property"] or {})
            wanted.update(properties)
            gone += [key for key in tag_properties(tags) if key not in properties]
        driver.ex_delete_tags(resource, dict.fromkeys(gone))
        driver.ex_create_tags(
            resource,
            {key: text for key, text in wanted.items() if tags.get(key) != text},
        )

    def stop_node(self, driver: GatewayEC2NodeDriver, node: Node, force: bool) -> None:
        # StopInstances' Force skips the OS shutdown, like pulling the plug.
        driver.stop_node(node, ex_force=force)

    def reboot_node(
        self, driver: GatewayEC2NodeDriver, node: Node, force: bool
    ) -> None:
        # NOTE: RebootInstances has no force, and a forced stop then a start
        # is refused while the instance is still stopping: force is ignored.
        driver.reboot_node(node)

    # -- how EC2 finds things ------------------------------------------------

    def fetch_images(
        self, driver: GatewayEC2NodeDriver, narrow: Narrowing | None = None
    ) -> list[NodeImage]:
        # Real EC2 has hundreds of thousands of public AMIs: list the
        # configured owners only; any id can still be read directly.
        filters = ec2_filters(narrow, IMAGE_FILTERS, IMAGE_STATE)
        if filters is None:
            return []  # the filter wants what cannot be
        images: dict[str, NodeImage] = {}
        for owner in self.setting("image_owners"):
            for image in driver.list_images(ex_owner=owner, ex_filters=filters):
                images.setdefault(image.id, image)
        return [images[key] for key in sorted(images)]

    def fetch_nodes(
        self, driver: GatewayEC2NodeDriver, narrow: Narrowing | None = None
    ) -> list[Node]:
        filters = ec2_filters(narrow, MACHINE_FILTERS, MACHINE_STATE)
        if filters is None:
            return []
        return driver.list_nodes(ex_filters=filters)

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

    # -- networks: the region's subnets -------------------------------------------

    def list_networks(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_networks"):
            subnets = driver.ex_list_subnets()
        return [self.to_network(subnet) for subnet in subnets]

    def get_network(self, creds: Credentials, network_id: str) -> dict:
        if not network_id.startswith("subnet-"):
            raise NotFound(f"no network {network_id}")
        driver = self.driver(creds)
        with self.calling(creds, "get_network"):
            subnets = driver.ex_list_subnets(subnet_ids=[network_id])
        if not subnets:
            raise NotFound(f"no network {network_id}")
        return self.to_network(subnets[0])

    def to_network(self, subnet: Any) -> dict:
        extra = subnet.extra or {}
        tags = extra.get("tags") or {}
        properties = {
            key: str(extra[key])
            for key in ("vpc_id", "cidr_block", "zone")
            if extra.get(key)
        }
        return {
            "id": subnet.id,
            "name": tags.get(NAME_TAG) or subnet.id,
            "description": tags.get(DESCRIPTION_TAG, ""),
            "property": {**tag_properties(tags), **properties},
            "state": "STARTED" if subnet.state == "available" else "CREATING",
            "networkType": "PRIVATE",
        }

    # -- addresses: Elastic IPs of the VPC, by allocation id -------------------

    def list_addresses(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_addresses"):
            found = driver.ex_describe_all_addresses()
        return [self.to_address(ip) for ip in found]

    def get_address(self, creds: Credentials, address_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_address"):
            return self.to_address(self._elastic_ip(driver, address_id))

    def allocate_address(self, creds: Credentials, values: dict) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "allocate_address"):
            allocated = driver.ex_allocate_address(domain="vpc")
            return self.to_address(
                self._elastic_ip(driver, allocated.extra["allocation_id"])
            )

    def release_address(self, creds: Credentials, address_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "release_address"):
            found = self._elastic_ip(driver, address_id)
            if found.instance_id:
                raise Conflict(f"address {address_id} is in use: disassociate it first")
            driver.ex_release_address(found, domain="vpc")

    def associate_address(
        self, creds: Credentials, address_id: str, machine_id: str
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "associate_address"):
            node = self.find_node(driver, machine_id)
            state = self.to_machine(node)["state"]
            if state not in ("STARTED", "STOPPED"):
                raise Conflict(f"machine {machine_id} is {state}: no address now")
            found = self._elastic_ip(driver, address_id)
            if found.instance_id and found.instance_id != machine_id:
                raise Conflict(f"address {address_id} is in use by {found.instance_id}")
            driver.ex_associate_address_with_node(node, found, domain="vpc")
            return self.to_address(self._elastic_ip(driver, address_id))

    def disassociate_address(self, creds: Credentials, address_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "disassociate_address"):
            found = self._elastic_ip(driver, address_id)
            if found.instance_id:
                driver.ex_disassociate_address(found, domain="vpc")
            return self.to_address(self._elastic_ip(driver, address_id))

    def _elastic_ip(self, driver: GatewayEC2NodeDriver, address_id: str) -> Any:
        for found in driver.ex_describe_all_addresses():
            if (found.extra or {}).get("allocation_id") == address_id:
                return found
        raise NotFound(f"no address {address_id}")

    def to_address(self, found: Any) -> dict:
        extra = found.extra or {}
        machine = found.instance_id or None
        return {
            "id": extra.get("allocation_id") or found.ip,
            "name": found.ip,
            "ip": found.ip,
            "allocation": "static",
            "protocol": "IPv4",
            "resource": machine,
            "operations": (EDIT,) + ((DISASSOCIATE,) if machine else (DELETE,)),
        }

    # -- volumes: EBS, in the configured zone ----------------------------------------

    def fetch_volume_configurations(self, driver: GatewayEC2NodeDriver) -> list[dict]:
        return [
            {
                "id": kind,
                "name": kind,
                "description": f"EBS {what}",
                "type": f"ec2://{kind}",
                "format": "raw",
                "capacity": smallest * KIB_PER_GIB,
            }
            for kind, (smallest, what) in VOLUME_TYPES.items()
        ]

    def to_volume(self, volume: StorageVolume) -> dict:
        extra = volume.extra or {}
        tags = extra.get("tags") or {}
        return {
            "id": volume.id,
            "name": tags.get(NAME_TAG) or volume.id,
            "description": tags.get(DESCRIPTION_TAG, ""),
            "created": aware_utc(extra.get("create_time")),
            "property": tag_properties(tags),
            "state": VOLUME_STATE.get(extra.get("state") or "", "ERROR"),
            "type": f"ec2://{extra.get('volume_type') or 'standard'}",
            "capacity": volume.size * KIB_PER_GIB,
            "bootable": False,
        }

    def attachment(self, volume: StorageVolume) -> dict | None:
        extra = volume.extra or {}
        state = ATTACHMENT_STATE.get(extra.get("attachment_status") or "")
        if not extra.get("instance_id") or state is None:
            return None
        return {
            "machine": extra["instance_id"],
            "device": extra.get("device") or "",
            "state": state,
        }

    def to_volume_image(self, snapshot: VolumeSnapshot) -> dict:
        extra = snapshot.extra or {}
        tags = extra.get("tags") or {}
        return {
            "id": snapshot.id,
            "name": tags.get(NAME_TAG) or snapshot.id,
            "description": tags.get(DESCRIPTION_TAG) or extra.get("description") or "",
            "created": aware_utc(snapshot.created),
            "property": tag_properties(tags),
            "state": SNAPSHOT_STATE.get(extra.get("state") or "", "ERROR"),
            "imageLocation": extra.get("volume_id") or "",
            "bootable": False,
            "capacity": snapshot.size * KIB_PER_GIB,
            "operations": (DELETE,),
        }

    def fetch_volumes(
        self, driver: GatewayEC2NodeDriver, narrow: Narrowing | None = None
    ) -> list[StorageVolume]:
        return driver.list_volumes()

    def find_volume(
        self, driver: GatewayEC2NodeDriver, volume_id: str
    ) -> StorageVolume:
        if not volume_id.startswith("vol-"):
            raise NotFound(f"no volume {volume_id}")
        found = driver.list_volumes(ex_filters={"volume-id": volume_id})
        if not found:
            raise NotFound(f"no volume {volume_id}")
        return found[0]

    def fetch_snapshots(
        self, driver: GatewayEC2NodeDriver, narrow: Narrowing | None = None
    ) -> list[VolumeSnapshot]:
        # AWS (and moto) hold thousands of public snapshots: the account's only.
        return driver.ex_list_own_snapshots()

    def find_snapshot(
        self, driver: GatewayEC2NodeDriver, snapshot_id: str
    ) -> VolumeSnapshot:
        if not snapshot_id.startswith("snap-"):
            raise NotFound(f"no volume image {snapshot_id}")
        found = driver.ex_list_own_snapshots(snapshot_ids=[snapshot_id])
        if not found:
            raise NotFound(f"no volume image {snapshot_id}")
        return found[0]

    def create_storage_volume(
        self,
        driver: GatewayEC2NodeDriver,
        spec: VolumeSpec,
        config: dict,
        snapshot: VolumeSnapshot | None,
    ) -> StorageVolume:
        smallest, _ = VOLUME_TYPES[config["id"]]
        if spec.capacity < smallest:
            raise BadRequest(
                f"capacity: an EBS {config['id']} volume is at least {smallest} GiB"
            )
        tags = property_tags(spec.properties)
        if spec.name:
            tags[NAME_TAG] = spec.name
        if spec.description:
            tags[DESCRIPTION_TAG] = spec.description
        return driver.create_volume(
            spec.capacity,
            None,
            location=self._zone(driver),
            snapshot=snapshot,
            ex_volume_type=config["id"],
            ex_iops=provisioned_iops(config["id"], spec.capacity),
            ex_tags=tags,
        )

    def set_volume_metadata(
        self, driver: GatewayEC2NodeDriver, volume: StorageVolume, values: dict
    ) -> None:
        self._retag(driver, volume, volume.extra.get("tags") or {}, values)

    def create_snapshot(
        self, driver: GatewayEC2NodeDriver, volume: StorageVolume, values: dict
    ) -> VolumeSnapshot:
        tags = property_tags(values.get("property") or {})
        if values.get("name"):
            tags[NAME_TAG] = values["name"]
        return driver.create_volume_snapshot(
            volume,
            None,
            ex_metadata=tags,
            ex_description=values.get("description") or "",
        )

    def attach(
        self,
        driver: GatewayEC2NodeDriver,
        node: Node,
        volume: StorageVolume,
        device: str,
    ) -> None:
        # EC2 wants a device: the first of those it suggests for data
        # (/dev/sdf to /dev/sdp) the instance does not use yet.
        if not device:
            used = {
                mapping.get("device_name")
                for mapping in node.extra.get("block_device_mapping") or ()
            } | {(v.extra or {}).get("device") for v in driver.list_volumes(node=node)}
            free = [d for d in DATA_DEVICES if d not in used]
            if not free:
                raise Conflict(
                    f"machine {node.id} has no free device for a volume "
                    f"({DATA_DEVICES[0]} to {DATA_DEVICES[-1]} are in use)"
                )
            device = free[0]
        driver.attach_volume(node, volume, device)

    def _zone(self, driver: GatewayEC2NodeDriver) -> str:
        """The zone volumes are made in: the configured one, else the region's first."""
        zone = self.setting("availability_zone")
        if not zone:
            zone = self._zones.get(self.setting("region"))
            if zone is None:
                # Availability zones only: not an account's Local Zones.
                zones = driver.ex_list_zone_names()
                if not zones:
                    raise ProviderFailed("EC2 lists no available zone in this region")
                zone = self._zones[self.setting("region")] = zones[0]
        return zone
