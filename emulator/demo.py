"""Demo accounts: build, staging and production, each reachable from the default account.

Every account gets ``OrganizationAccountAccessRole`` the way AWS Organizations creates it: trusted
by the management account (here moto's default account, whose credentials the worker uses) and
allowed to do everything. Seeding twice leaves one role per account with the same policies.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends

logger = logging.getLogger(__name__)

BOOTSTRAP_ROLE = "OrganizationAccountAccessRole"
ADMIN_POLICY_NAME = "AdministratorAccess"
DEMO_ACCOUNTS = {"build": "111111111111", "staging": "222222222222", "production": "333333333333"}

TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"},
        "Action": "sts:AssumeRole",
    }],
})
ADMIN_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
})


@dataclass(frozen=True)
class DemoAccount:
    name: str
    account_id: str
    role_arn: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def seed(partition: str = "aws") -> list[DemoAccount]:
    """Create (or repair) each demo account's bootstrap role and return the accounts."""
    return [_seed_account(name, account_id, partition) for name, account_id in DEMO_ACCOUNTS.items()]


def _seed_account(name: str, account_id: str, partition: str) -> DemoAccount:
    iam = iam_backends[account_id][partition]
    try:
        role = iam.get_role(BOOTSTRAP_ROLE)
        # Repair a role a user edited, so seeding always yields the documented access.
        iam.update_assume_role_policy(BOOTSTRAP_ROLE, TRUST_POLICY)
    except NotFoundException:
        role = iam.create_role(
            role_name=BOOTSTRAP_ROLE,
            assume_role_policy_document=TRUST_POLICY,
            path="/",
            permissions_boundary=None,
            description="Demo account bootstrap role, trusted by the emulator's default account",
            tags=[],
            max_session_duration="3600",
        )
        logger.info("created %s in demo account %s (%s)", BOOTSTRAP_ROLE, account_id, name)
    iam.put_role_policy(BOOTSTRAP_ROLE, ADMIN_POLICY_NAME, ADMIN_POLICY)
    return DemoAccount(name=name, account_id=account_id, role_arn=role.arn)
