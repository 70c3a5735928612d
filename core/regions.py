"""Regions where the pipeline can live, read from the endpoint data that ships with botocore.

The list is not written by hand: botocore's ``data/endpoints.json`` names, per partition, the regions
and the regions each service has an endpoint in. It is read as plain JSON, located through the import
system without importing botocore, so the portal never loads the AWS SDK.
"""
from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

# Every stack the portal deploys is a CloudFormation stack, and the pipeline is a CodePipeline.
REQUIRED_SERVICES = ("codepipeline", "cloudformation")
# The ARNs, console links and quick-create URLs the portal builds are those of the standard partition.
DEFAULT_PARTITION = "aws"


class RegionDataUnavailable(RuntimeError):
    """botocore's endpoint data cannot be found or read."""


@dataclass(frozen=True)
class Region:
    name: str
    description: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.description}" if self.description else self.name


def endpoints_file() -> Path:
    """Return the path of botocore's endpoints.json without importing botocore."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RegionDataUnavailable("the botocore package is not installed; it ships the region list")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "endpoints.json"
        if candidate.is_file():
            return candidate
    raise RegionDataUnavailable("botocore is installed but its data/endpoints.json is missing")


def regions_from_endpoints(data: dict, partition: str = DEFAULT_PARTITION,
                           services: tuple[str, ...] = REQUIRED_SERVICES) -> list[Region]:
    """Return the partition's regions in which every one of ``services`` has an endpoint, sorted by name."""
    for part in data.get("partitions", []):
        if part.get("partition") != partition:
            continue
        regions = part.get("regions", {})
        # Service endpoint keys also hold pseudo-regions such as "fips-us-east-1"; keeping only the
        # partition's declared regions drops them.
        names = set(regions)
        for service in services:
            names &= set(part.get("services", {}).get(service, {}).get("endpoints", {}))
        return [Region(name, regions[name].get("description", "")) for name in sorted(names)]
    raise RegionDataUnavailable(f"partition {partition!r} is not in botocore's endpoint data")


@cache
def pipeline_regions(partition: str = DEFAULT_PARTITION) -> tuple[Region, ...]:
    """Return the regions where CodePipeline and CloudFormation both exist (read once, then cached)."""
    path = endpoints_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RegionDataUnavailable(f"cannot read {path}: {err}") from err
    regions = tuple(regions_from_endpoints(data, partition))
    log.debug("Loaded %s pipeline regions from %s", len(regions), path)
    return regions


def is_pipeline_region(name: str) -> bool:
    return any(region.name == name for region in pipeline_regions())
