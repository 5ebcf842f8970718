"""libcloud's EC2 driver, fixed where it disagrees with EC2-compatible APIs.

Every fix is harmless against Amazon itself:

- answers are parsed whatever EC2 XML namespace they carry (moto writes
  ``.../2016-11-15`` without libcloud's trailing slash, Eucalyptus its own);
- tag calls number their lists from 1, as the EC2 query API documents
  (libcloud's ``ResourceId.0``/``Tag.0.*`` make moto answer
  ``MissingParameter: resourceIdSet``);
- ``stop_node`` can ask for a forced stop, which libcloud's cannot;
- lists follow ``nextToken`` to the last page (libcloud reads the first);
- volumes and snapshots are tagged as they are made (TagSpecification) and
  returned as described; snapshots are the account's own only (moto ignores
  ``Owner=self``); DetachVolume names the instance (moto 500s without it);
  DescribeKeyPairs asks ``KeyName.1`` (moto ignores an unindexed one);
  Elastic IPs go by allocation/association id, not the EC2-Classic public IP;
- an answer without ``<return>`` (moto leaves many out) is a success;
- an answer that is not EC2's XML (an HTML page from a proxy, a body cut
  short, text a tag made unparsable) is an error, never an empty list;
- every request is bounded by the call's deadline (``providers/deadline.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.exceptions import exception_from_message
from libcloud.common.types import InvalidCredsError
from libcloud.common.types import LibcloudError
from libcloud.common.types import MalformedResponseError
from libcloud.compute.base import KeyPair
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot
from libcloud.compute.drivers.ec2 import NAMESPACE
from libcloud.compute.drivers.ec2 import EC2Connection
from libcloud.compute.drivers.ec2 import EC2NodeDriver
from libcloud.compute.drivers.ec2 import EC2Response
from libcloud.compute.drivers.ec2 import ElasticIP
from libcloud.compute.types import KeyPairDoesNotExistError
from libcloud.utils.py3 import ET
from libcloud.utils.xml import findall
from libcloud.utils.xml import findtext

from providers.deadline import DeadlineConnection

# The codes by which EC2 refuses who is calling (not what is asked).
_REFUSED_CREDENTIALS = frozenset(
    {"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "OptInRequired"}
)
_EC2_XMLNS = re.compile(r'xmlns="http://ec2\.amazonaws\.com/doc/[^"]*"')
_LIBCLOUD_XMLNS = f'xmlns="{NAMESPACE}"'


class AnyNamespaceEC2Response(EC2Response):
    """Parse EC2 answers whichever API version their namespace names.

    libcloud looks elements up in its own API version's namespace, so an
    answer in another one parses as empty lists, silently. So would an
    answer that is not EC2's at all: that is refused.
    """

    def parse_body(self) -> Any:
        body = self.body if isinstance(self.body, str) else ""
        self.body = _EC2_XMLNS.sub(_LIBCLOUD_XMLNS, body, count=1)
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError as ex:
            raise self._unreadable(f"not well-formed XML ({ex})") from None
        if not root.tag.startswith(f"{{{NAMESPACE}}}"):
            kind = self.headers.get("content-type", "no content type")
            raise self._unreadable(f"not an EC2 answer: <{root.tag[:60]}>, {kind}")
        return root

    def _unreadable(self, why: str) -> MalformedResponseError:
        # NOTE: only the start of the body: this text reaches the client.
        return MalformedResponseError(why, body=self.body[:200], driver=None)

    def parse_error(self) -> Any:
        """Return "Code: Message" of each error; raise for refused credentials.

        libcloud's own reads ``Errors/Error`` without a namespace and expects
        exactly two children, Code then Message: moto's errors carry a
        namespace or a third child (``Type``), which made every refusal,
        bad credentials included, a ValueError. Here each is read by name,
        and a body that is not an EC2 error at all is said so, briefly.
        """
        body = self.body if isinstance(self.body, str) else ""
        try:
            root = ET.fromstring(_EC2_XMLNS.sub("", body, count=1))
        except ET.ParseError:
            kind = self.headers.get("content-type", "no content type")
            raise self._unreadable(
                f"HTTP {self.status} with no EC2 error ({kind}): {body[:80]!r}"
            ) from None
        errors = []
        for error in root.iter("Error"):
            code = (error.findtext("Code") or "").strip()
            message = (error.findtext("Message") or "").strip()
            errors.append(f"{code}: {message}")
            if code in _REFUSED_CREDENTIALS:
                raise InvalidCredsError(errors[-1])
        if not errors:
            raise self._unreadable(f"HTTP {self.status} with no EC2 error")
        return "\n".join(errors)


class AnyNamespaceEC2Connection(EC2Connection):
    responseCls = AnyNamespaceEC2Response
    conn_class = DeadlineConnection


class GatewayEC2NodeDriver(EC2NodeDriver):
    """libcloud's EC2 driver, reading any EC2 XML namespace.

    NOTE: EC2 answers these calls with booleans that moto leaves out; the
    callers take "no exception" for success and ignore what they return.
    """

    connectionCls = AnyNamespaceEC2Connection
    #: DescribeInstances' MaxResults (EC2 takes 5 to 1000).
    page_size: int = 1000
    #: the most pages one list follows before it gives up.
    max_pages: int = 1000
    #: the account these credentials act for, once asked (``ex_account_id``).
    _account_id: str | None = None

    def pages(self, params: Mapping[str, str]) -> Iterator[Any]:
        """Yield each page of a Describe call's answer, following nextToken."""
        token, seen = None, set()
        for _ in range(self.max_pages):
            page = dict(params, NextToken=token) if token else dict(params)
            answer = self.connection.request(self.path, params=page).object
            yield answer
            token = findtext(element=answer, xpath="nextToken", namespace=NAMESPACE)
            if not token:
                return
            if token in seen:
                raise LibcloudError(f"EC2 repeats the page token {token[:40]}")
            seen.add(token)
        raise LibcloudError(f"EC2 answered more than {self.max_pages} pages")

    def list_nodes(
        self,
        ex_node_ids: list[str] | None = None,
        ex_filters: Mapping[str, Any] | None = None,
    ) -> list[Node]:
        """Return every instance, over as many pages as EC2 answers in.

        NOTE: unlike libcloud's, no DescribeAddresses follows: the gateway
        does not map public IPs yet, and it would cost a round trip.
        """
        params = {"Action": "DescribeInstances"}
        if ex_node_ids:
            # EC2 refuses MaxResults beside InstanceId; it still pages.
            params.update(self._pathlist("InstanceId", ex_node_ids))
        else:
            params["MaxResults"] = str(self.page_size)
        if ex_filters:
            params.update(self._build_filters(ex_filters))
        nodes: list[Node] = []
        for answer in self.pages(params):
            for reservation in findall(
                element=answer, xpath="reservationSet/item", namespace=NAMESPACE
            ):
                nodes += self._to_nodes(reservation, "instancesSet/item")
        return nodes

    def list_images(
        self,
        location: Any = None,
        ex_image_ids: list[str] | None = None,
        ex_owner: str | None = None,
        ex_executableby: str | None = None,
        ex_filters: Mapping[str, Any] | None = None,
    ) -> list[NodeImage]:
        """Return the images asked for, over as many pages as EC2 answers in."""
        params = {"Action": "DescribeImages"}
        if ex_owner:
            params["Owner.1"] = ex_owner
        if ex_executableby:
            params["ExecutableBy.1"] = ex_executableby
        if ex_image_ids:
            params.update(self._pathlist("ImageId", ex_image_ids))
        if ex_filters:
            params.update(self._build_filters(ex_filters))
        images: list[NodeImage] = []
        for answer in self.pages(params):
            images += self._to_images(answer)
        return images

    def ex_describe_region(self, region: str) -> None:
        """Ask EC2 about one region: the cheapest signed call there is."""
        params = {"Action": "DescribeRegions", "RegionName.1": region}
        self.connection.request(self.path, params=params)

    def ex_create_tags(self, resource: Any, tags: Mapping[str, str]) -> bool:
        """Create or overwrite ``tags`` on ``resource``."""
        if not tags:
            return True
        params = {"Action": "CreateTags", "ResourceId.1": resource.id}
        for index, key in enumerate(tags, 1):
            params[f"Tag.{index}.Key"] = key
            params[f"Tag.{index}.Value"] = tags[key]
        return self._get_boolean(self.connection.request(self.path, params).object)

    def ex_delete_tags(self, resource: Any, tags: Mapping[str, str | None]) -> bool:
        """Delete ``tags`` from ``resource``; a None value matches any value."""
        if not tags:
            return True
        params = {"Action": "DeleteTags", "ResourceId.1": resource.id}
        for index, key in enumerate(tags, 1):
            params[f"Tag.{index}.Key"] = key
            if tags[key] is not None:
                params[f"Tag.{index}.Value"] = tags[key]
        return self._get_boolean(self.connection.request(self.path, params).object)

    # -- success booleans ---------------------------------------------------------

    def _get_boolean(self, element: Any) -> bool:
        """Read EC2's ``<return>``; an answer without one is a success.

        moto 5 leaves ``<return>`` out of DeleteVolume, DeleteSnapshot,
        ReleaseAddress, DisassociateAddress, CreateTags... (libcloud then says
        False for a call that worked); AWS always sends it, so this changes
        nothing there. A failure is an error answer, raised before this.
        """
        answer = findtext(element=element, xpath="return", namespace=NAMESPACE)
        return answer is None or answer.strip().lower() == "true"

    # -- block storage: tagged at birth, the account's own, paged ---------------

    def ex_list_zone_names(self) -> list[str]:
        """Return the names of the region's available zones, sorted.

        Only true availability zones: an account opted into Local or
        Wavelength Zones sees those too, and a volume should not land there
        by default (moto knows the ``zone-type`` filter).
        """
        params = {"Action": "DescribeAvailabilityZones"}
        params.update(
            self._build_filters(
                {
                    "region-name": self.region_name,
                    "state": "available",
                    "zone-type": "availability-zone",
                }
            )
        )
        answer = self.connection.request(self.path, params=params).object
        return sorted(
            findtext(element=item, xpath="zoneName", namespace=NAMESPACE)
            for item in findall(
                element=answer, xpath="availabilityZoneInfo/item", namespace=NAMESPACE
            )
        )

    def create_volume(
        self,
        size: int,
        name: str | None,
        location: Any = None,
        snapshot: VolumeSnapshot | str | None = None,
        ex_volume_type: str | None = "standard",
        ex_iops: int | None = None,
        ex_encrypted: bool = False,
        ex_kms_key_id: str | None = None,
        ex_throughput: int | None = None,
        ex_tags: Mapping[str, str] | None = None,
    ) -> StorageVolume:
        """Create a volume of ``size`` GiB, carrying its tags from the start.

        ``location`` is a zone name, an ``EC2NodeLocation`` or an
        ``ExEC2AvailabilityZone`` (None: the region's first zone); ``snapshot``
        a VolumeSnapshot or a ``snap-`` id; ``name`` becomes the Name tag
        (unless ``ex_tags`` has one). Returns the volume as DescribeVolumes
        shows it.

        libcloud's creates the volume, then tags it in a second call (with
        ``Tag.0.*``, which moto refuses), so a failure there left an untagged
        volume; it also refuses volume types it does not know, where EC2's
        own answer (InvalidParameterValue) says more. TagSpecification tags
        in the same call, on AWS as on moto.
        """
        tags = dict(ex_tags or {})
        if name and "Name" not in tags:
            tags["Name"] = name
        params: dict[str, str] = {
            "Action": "CreateVolume",
            "Size": str(size),
            "AvailabilityZone": self._zone_name(location),
            **_tag_specification("volume", tags),
        }
        if ex_volume_type:
            params["VolumeType"] = ex_volume_type
        if snapshot:
            params["SnapshotId"] = (
                snapshot if isinstance(snapshot, str) else snapshot.id
            )
        if ex_iops:
            params["Iops"] = str(ex_iops)
        if ex_throughput:
            params["Throughput"] = str(ex_throughput)
        if ex_encrypted:
            params["Encrypted"] = "true"
            if ex_kms_key_id:
                params["KmsKeyId"] = ex_kms_key_id
        answer = self.connection.request(self.path, params=params).object
        # The answer has the volume's fields at its top, as a describe's item:
        # the fallback where the describe does not see the volume yet (AWS's
        # reads are eventually consistent).
        created = self._to_volume(answer)
        try:
            found = self.list_volumes(ex_filters={"volume-id": created.id})
        except BaseHTTPError as ex:
            if not _is_code(ex, "InvalidVolume.NotFound"):
                raise
            found = []
        return found[0] if found else created

    def _zone_name(self, location: Any) -> str:
        """Return the zone name ``location`` stands for; None: the region's first."""
        if isinstance(location, str) and location:
            return location
        if location is None:
            zones = self.ex_list_zone_names()
            if not zones:
                raise LibcloudError("EC2 lists no available zone in this region")
            return zones[0]
        zone = getattr(location, "availability_zone", None) or location
        return zone.name

    def detach_volume(
        self,
        volume: StorageVolume,
        ex_force: bool = False,
        ex_node: Node | str | None = None,
    ) -> bool:
        """Detach ``volume`` from its instance, naming the instance.

        moto answers HTTP 500 (a TypeError inside it) to a DetachVolume
        without InstanceId, which AWS takes as optional; the instance is
        ``ex_node``, else the one ``volume`` was described attached to, else
        the one DescribeVolumes names now.

        Raises:
            BaseHTTPError: ``IncorrectState`` when the volume exists and is
                attached to nothing (AWS's answer; moto's is a 500 there),
                else what EC2 answers (``InvalidVolume.NotFound``,
                ``InvalidAttachment.NotFound`` for another instance...).
        """
        instance = ex_node if isinstance(ex_node, str) else getattr(ex_node, "id", None)
        instance = instance or (volume.extra or {}).get("instance_id")
        if not instance:
            described = self.list_volumes(ex_filters={"volume-id": volume.id})
            instance = next(
                (
                    v.extra["instance_id"]
                    for v in described
                    if v.extra.get("instance_id")
                ),
                None,
            )
            if described and not instance:
                raise exception_from_message(
                    400,
                    f"IncorrectState: Volume '{volume.id}' is attached to no instance",
                )
        params = {"Action": "DetachVolume", "VolumeId": volume.id}
        if instance:
            params["InstanceId"] = instance
        if ex_force:
            params["Force"] = "true"
        self.connection.request(self.path, params=params)
        return True

    def list_volumes(
        self, node: Node | None = None, ex_filters: Mapping[str, Any] | None = None
    ) -> list[StorageVolume]:
        """Return the volumes asked for, over as many pages as EC2 answers in.

        libcloud's reads the first page only. MaxResults goes with filters
        too: EC2 refuses it only beside VolumeId.N, which is not used here
        (a ``volume-id`` filter is, and a missing id is then [], not an error).
        """
        params: dict[str, str] = {
            "Action": "DescribeVolumes",
            # EC2 returns at most 500 a page, whatever is asked above it.
            "MaxResults": str(self.page_size),
        }
        filters = dict(ex_filters or {})
        if node is not None:
            filters["attachment.instance-id"] = node.id
        if filters:
            params.update(self._build_filters(filters))
        volumes: list[StorageVolume] = []
        for answer in self.pages(params):
            volumes += [
                self._to_volume(item)
                for item in findall(
                    element=answer, xpath="volumeSet/item", namespace=NAMESPACE
                )
            ]
        return volumes

    # -- snapshots: the account's own only --------------------------------------

    def create_volume_snapshot(
        self,
        volume: StorageVolume,
        name: str | None = None,
        ex_metadata: Mapping[str, str] | None = None,
        ex_description: str | None = None,
    ) -> VolumeSnapshot:
        """Snapshot ``volume``, tagged from the start (TagSpecification).

        ``name`` becomes the Name tag (unless ``ex_metadata`` has one) and, as
        libcloud does, the description when ``ex_description`` is None.
        Returns the snapshot as DescribeSnapshots shows it. libcloud's tags
        in a second call (``Tag.0.*``, refused by moto), and a failure there
        left an untagged snapshot.
        """
        tags = dict(ex_metadata or {})
        if name and "Name" not in tags:
            tags["Name"] = name
        description = name if ex_description is None else ex_description
        params = {
            "Action": "CreateSnapshot",
            "VolumeId": volume.id,
            **_tag_specification("snapshot", tags),
        }
        if description:
            params["Description"] = description
        answer = self.connection.request(self.path, params=params).object
        created = self._to_snapshot(answer)
        try:
            found = self.ex_list_own_snapshots(snapshot_ids=[created.id])
        except BaseHTTPError as ex:
            # AWS's reads are eventually consistent: the answer will do.
            if not _is_code(ex, "InvalidSnapshot.NotFound"):
                raise
            found = []
        return found[0] if found else created

    def ex_list_own_snapshots(
        self,
        snapshot_ids: list[str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VolumeSnapshot]:
        """Return this account's snapshots only, over every page.

        AWS lists every public snapshot to anyone (thousands, many backing
        AMIs): ``Owner.1=self`` narrows it there. moto 5 never reads
        ``Owner`` (DescribeSnapshots takes SnapshotId.N and Filter.N only) and
        lists the snapshot of every AMI it holds, whoever owns it; so the
        account's id goes too, as an ``owner-id`` filter, which both honour.
        An id of another account's snapshot gives [] on moto; AWS answers
        InvalidSnapshot.NotFound for one it will not show.
        """
        params: dict[str, str] = {"Action": "DescribeSnapshots", "Owner.1": "self"}
        params.update(
            self._build_filters({**(filters or {}), "owner-id": self.ex_account_id()})
        )
        if snapshot_ids:
            # EC2 refuses MaxResults beside SnapshotId.N.
            params.update(self._pathlist("SnapshotId", snapshot_ids))
        else:
            params["MaxResults"] = str(self.page_size)
        snapshots: list[VolumeSnapshot] = []
        for answer in self.pages(params):
            snapshots += self._to_snapshots(answer)
        return snapshots

    def list_volume_snapshots(self, volume: StorageVolume) -> list[VolumeSnapshot]:
        """Return this account's snapshots of ``volume`` (libcloud's lists
        every snapshot EC2 shows, then filters them here)."""
        return self.ex_list_own_snapshots(filters={"volume-id": volume.id})

    def ex_account_id(self) -> str:
        """Return the id of the account these credentials act for, asked once.

        EC2 has no "who am I" (STS has, at another endpoint); every account
        owns a ``default`` security group, whose answer names its owner.
        """
        if self._account_id is None:
            params = {"Action": "DescribeSecurityGroups", "GroupName.1": "default"}
            answer = self.connection.request(self.path, params=params).object
            owner = findtext(
                element=answer,
                xpath="securityGroupInfo/item/ownerId",
                namespace=NAMESPACE,
            )
            if not owner:
                raise LibcloudError("EC2 named no owner of the default security group")
            self._account_id = owner
        return self._account_id

    # -- key pairs --------------------------------------------------------------

    def list_key_pairs(self) -> list[KeyPair]:
        """Return the key pairs, with their public keys (libcloud asks none)."""
        params = {"Action": "DescribeKeyPairs", "IncludePublicKey": "true"}
        return self._key_pairs(params)

    def get_key_pair(self, name: str) -> KeyPair:
        """Return the key pair ``name``, with its public key.

        Raises:
            KeyPairDoesNotExistError: there is none (EC2 answers
                InvalidKeyPair.NotFound). libcloud sends an unindexed
                ``KeyName``, which moto ignores: it got every key, and
                returned the first.
        """
        params = {
            "Action": "DescribeKeyPairs",
            "KeyName.1": name,
            "IncludePublicKey": "true",
        }
        try:
            pairs = self._key_pairs(params)
        except BaseHTTPError as ex:
            if _is_code(ex, "InvalidKeyPair.NotFound"):
                raise KeyPairDoesNotExistError(name, self) from ex
            raise
        for pair in pairs:
            if pair.name == name:
                return pair
        raise KeyPairDoesNotExistError(name, self)

    def _key_pairs(self, params: Mapping[str, str]) -> list[KeyPair]:
        answer = self.connection.request(self.path, params=params).object
        pairs = []
        for item in findall(element=answer, xpath="keySet/item", namespace=NAMESPACE):
            pair = self._to_key_pair(item)
            pair.public_key = (
                findtext(element=item, xpath="publicKey", namespace=NAMESPACE) or None
            )
            pairs.append(pair)
        return pairs

    # -- Elastic IPs: VPC addresses, by allocation id ---------------------------

    def ex_allocate_address(self, domain: str = "vpc") -> ElasticIP:
        """Allocate an Elastic IP, in the VPC domain unless told otherwise.

        libcloud's default, ``standard``, is EC2-Classic, which AWS retired
        in 2023; moto allocates ``vpc`` whatever is asked.
        """
        return super().ex_allocate_address(domain=domain)

    def ex_describe_all_addresses(
        self, only_associated: bool = False
    ) -> list[ElasticIP]:
        """Return the account's Elastic IPs; an unassociated one's
        ``instance_id`` is None (moto sends an empty ``<instanceId/>``)."""
        found = super().ex_describe_all_addresses(only_associated=only_associated)
        for address in found:
            address.instance_id = address.instance_id or None
        return found

    def ex_associate_address_with_node(
        self, node: Node, elastic_ip: ElasticIP, domain: str | None = None
    ) -> str | None:
        """Associate ``elastic_ip`` with ``node``; return the association id.

        By AllocationId whenever the address has one, whatever ``domain``
        says: a VPC address named by PublicIp (libcloud's default) is
        EC2-Classic's form, deprecated on AWS.
        """
        params = {"Action": "AssociateAddress", "InstanceId": node.id}
        params.update(self._address_key(elastic_ip))
        answer = self.connection.request(self.path, params=params).object
        return findtext(element=answer, xpath="associationId", namespace=NAMESPACE)

    def ex_disassociate_address(
        self, elastic_ip: ElasticIP, domain: str | None = None
    ) -> bool:
        """Disassociate ``elastic_ip`` from its instance.

        A VPC address is disassociated by its AssociationId: the one
        ``elastic_ip`` carries, else the one DescribeAddresses names now
        (an address just allocated or associated does not carry it).
        """
        extra = elastic_ip.extra or {}
        association = extra.get("association_id")
        if not association and extra.get("allocation_id"):
            params = {
                "Action": "DescribeAddresses",
                "AllocationId.1": extra["allocation_id"],
            }
            answer = self.connection.request(self.path, params=params).object
            association = findtext(
                element=answer,
                xpath="addressesSet/item/associationId",
                namespace=NAMESPACE,
            )
            if not association:
                return True  # associated with nothing: nothing to undo
        params = {"Action": "DisassociateAddress"}
        if association:
            params["AssociationId"] = association
        else:
            params["PublicIp"] = elastic_ip.ip
        return self._get_boolean(self.connection.request(self.path, params).object)

    def ex_release_address(
        self, elastic_ip: ElasticIP, domain: str | None = None
    ) -> bool:
        """Release ``elastic_ip``, by AllocationId whenever it has one (AWS
        requires it for VPC addresses; libcloud sends PublicIp unless
        ``domain="vpc"``). True unless EC2 refuses (moto sends no boolean)."""
        params = {"Action": "ReleaseAddress", **self._address_key(elastic_ip)}
        return self._get_boolean(self.connection.request(self.path, params).object)

    @staticmethod
    def _address_key(elastic_ip: ElasticIP) -> dict[str, str]:
        allocation = (elastic_ip.extra or {}).get("allocation_id")
        return (
            {"AllocationId": allocation} if allocation else {"PublicIp": elastic_ip.ip}
        )

    def stop_node(self, node: Node, ex_force: bool = False) -> bool:
        """Stop ``node``; with ``ex_force``, without waiting for its OS."""
        params = {"Action": "StopInstances", "InstanceId.1": node.id}
        if ex_force:
            params["Force"] = "true"
        answer = self.connection.request(self.path, params=params).object
        return self._get_state_boolean(answer)


def _tag_specification(resource_type: str, tags: Mapping[str, str]) -> dict[str, str]:
    """Return the ``TagSpecification.1`` parameters that tag a new resource."""
    if not tags:
        return {}
    params = {"TagSpecification.1.ResourceType": resource_type}
    for index, key in enumerate(tags, 1):
        params[f"TagSpecification.1.Tag.{index}.Key"] = key
        params[f"TagSpecification.1.Tag.{index}.Value"] = tags[key]
    return params


def _is_code(ex: BaseHTTPError, code: str) -> bool:
    """Tell whether an EC2 error (``"Code: Message"``) is of ``code``."""
    return str(getattr(ex, "message", "") or "").startswith(f"{code}:")
