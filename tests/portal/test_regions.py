"""The region list comes from botocore's endpoint data, not from a hand-written list."""
from __future__ import annotations

import json
import sys

import pytest

from core import regions


def test_reads_regions_from_botocores_endpoints_file():
    data = json.loads(regions.endpoints_file().read_text())
    aws = next(p for p in data["partitions"] if p["partition"] == "aws")
    expected = set(aws["regions"]) & set(aws["services"]["codepipeline"]["endpoints"]) \
        & set(aws["services"]["cloudformation"]["endpoints"])
    assert {region.name for region in regions.pipeline_regions()} == expected
    assert "eu-west-1" in expected


def test_keeps_only_regions_where_both_services_exist():
    data = {"partitions": [{
        "partition": "aws",
        "regions": {"r-one-1": {"description": "One"}, "r-two-1": {"description": "Two"},
                    "r-three-1": {"description": "Three"}},
        "services": {
            "codepipeline": {"endpoints": {"r-one-1": {}, "r-two-1": {}, "fips-r-one-1": {}}},
            "cloudformation": {"endpoints": {"r-one-1": {}, "r-three-1": {}, "fips-r-one-1": {}}},
        },
    }]}
    assert regions.regions_from_endpoints(data) == [regions.Region("r-one-1", "One")]


def test_refuses_an_unknown_partition():
    with pytest.raises(regions.RegionDataUnavailable, match="partition 'aws' is not"):
        regions.regions_from_endpoints({"partitions": []})


def test_labels_regions_with_their_description():
    assert regions.Region("eu-west-1", "Europe (Ireland)").label == "eu-west-1 — Europe (Ireland)"


def test_does_not_import_the_aws_sdk():
    # Loading the region list must not pull botocore (and its session machinery) into the portal.
    code = ("import sys; from core.regions import pipeline_regions; pipeline_regions(); "
            "assert 'botocore' not in sys.modules and 'boto3' not in sys.modules, sorted(sys.modules)")
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)
