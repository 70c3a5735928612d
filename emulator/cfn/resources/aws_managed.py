"""AWS managed IAM policies (``arn:aws:iam::aws:policy/...``), present when a template names one.

moto ships the documents of AWS's managed policies but loads them into every account only when
``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set, which costs ~1,600 policies per account backend. AWS
has them everywhere, and SAM's roles attach ``AWSLambdaBasicExecutionRole``: the emulator adds
the one policy a role attaches, to that account, the moment it is attached.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.utilities.utils import get_partition


@functools.lru_cache(maxsize=1)
def _documents() -> dict[str, dict[str, Any]]:
    return json.loads(aws_managed_policies_data)


def arn_of(name: str, data: dict[str, Any], partition: str = "aws") -> str:
    return f"arn:{partition}:iam::aws:policy{data.get('Path', '/')}{name}"


def policy_map(partition: str = "aws") -> dict[str, str]:
    """Every AWS managed policy's name with its ARN (what SAM's ``Policies: [Name]`` resolves)."""
    return {name: arn_of(name, data, partition) for name, data in _documents().items()}


def ensure(arn: str, account_id: str, region: str) -> None:
    """Make an AWS managed policy attachable in an account; other ARNs are left to IAM to judge."""
    partition = get_partition(region)
    if not arn.startswith(f"arn:{partition}:iam::aws:policy/"):
        return
    backend = iam_backends[account_id][partition]
    if arn in backend.managed_policies:
        return
    for name, data in _documents().items():
        if arn_of(name, data, partition) == arn:
            backend.managed_policies[arn] = AWSManagedPolicy.from_data(name, account_id, region, data)
            return
