"""EC2 instance types as libcloud knows them, in CIMI terms.

libcloud ships the instance types and which region offers which as static
data (``list_sizes`` makes no HTTP call); this module reads that data once
and maps it, for machine configurations and for the cpu and memory of a
machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from libcloud.compute.base import NodeSize

from providers.ec2_driver import GatewayEC2NodeDriver

KIB_PER_MIB = 1024
KIB_PER_GB = 1024 * 1024  # libcloud counts disk in GB; taken as GiB, as the mock
# Instance storage as libcloud describes it: "1 x 75 NVMe SSD", "4 X 940 GB".
_STORAGE = re.compile(r"^(\d+)\s*[xX]\s*([\d,]+)")


@cache
def region_sizes(region: str) -> tuple[NodeSize, ...]:
    """Return the instance types libcloud knows in ``region``, as sizes.

    This is libcloud's ``list_sizes`` without its per-size price lookup.
    Where libcloud knows the region but none of its types (af-south-1,
    ap-northeast-3...), every type it knows is offered: EC2 refuses the
    missing ones at creation.
    """
    from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES
    from libcloud.compute.constants.ec2_region_details_complete import REGION_DETAILS

    names = REGION_DETAILS.get(region, {}).get("instance_types") or sorted(
        INSTANCE_TYPES
    )
    # A driver without credentials: the sizes must not keep anyone's key.
    driver = GatewayEC2NodeDriver("", "", region=region)
    return tuple(
        NodeSize(driver=driver, price=None, **INSTANCE_TYPES[name])
        for name in names
        if name in INSTANCE_TYPES
    )


@cache
def instance_types() -> dict[str, tuple[int | None, int | None]]:
    """Return vCPUs and memory (KiB) of every EC2 instance type libcloud knows.

    Mapping a node reads this, so that it needs no driver or region.
    """
    from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES

    return {name: _cpu_memory(spec) for name, spec in INSTANCE_TYPES.items()}


def to_machine_configuration(size: NodeSize) -> dict:
    """Map an EC2 size to CIMI MachineConfiguration values."""
    extra = size.extra or {}
    cpu, memory = _cpu_memory({"ram": size.ram, "extra": extra})
    config: dict[str, Any] = {
        "id": size.id,
        "name": size.name or size.id,
        "description": _description(extra),
        "cpu": cpu,
        "memory": memory,
    }
    disks = _instance_disks(size)
    if disks:
        config["disk"] = disks
    arch = _cpu_arch(extra.get("physicalProcessor") or "")
    if arch:
        config["cpuArch"] = arch
    return config


def _cpu_memory(spec: Mapping[str, Any]) -> tuple[int | None, int | None]:
    vcpu, ram = str(spec["extra"].get("vcpu", "")), spec.get("ram")
    return (
        int(vcpu) if vcpu.isdigit() else None,
        int(ram) * KIB_PER_MIB if ram else None,
    )


def _cpu_arch(processor: str) -> str | None:
    # EC2's own words for it, as instances report their architecture.
    if "Graviton" in processor or "Apple" in processor:
        return "arm64"
    if "Intel" in processor or "AMD" in processor:
        return "x86_64"
    return None


def _instance_disks(size: NodeSize) -> list[dict]:
    total = int(size.disk or 0)
    if total <= 0:
        return []  # EBS only: the disks come with the image
    match = _STORAGE.match((size.extra or {}).get("storage", ""))
    count, each = (int(match[1]), int(match[2].replace(",", ""))) if match else (1, 0)
    if count * each != total:
        count, each = 1, total
    return [{"capacity": each * KIB_PER_GB, "format": "unknown"} for _ in range(count)]


def _description(extra: Mapping[str, Any]) -> str:
    storage = extra.get("storage") or ""
    parts = [
        extra.get("instanceFamily"),
        extra.get("vcpu") and f"{extra['vcpu']} vCPU",
        extra.get("memory") and f"{extra['memory']} of memory",
        storage and ("EBS only" if storage == "EBS only" else f"{storage} storage"),
    ]
    return ", ".join(part for part in parts if part)
