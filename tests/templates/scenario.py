"""The accounts, names and parameters the template tests deploy with (the portal's demo layout)."""
from __future__ import annotations

from tests.accounts import BUILD, PRODUCTION, STAGING  # noqa: F401 - template tests import them from here

APP = "orders-api"
REGION = "eu-west-1"
PORTAL_URL = "https://portal.example.com"


def role_arn(account: str, suffix: str) -> str:
    return f"arn:aws:iam::{account}:role/{APP}-{suffix}"


def pipeline_parameters(staging: str = STAGING, production: str = PRODUCTION, **overrides: str) -> dict[str, str]:
    """Parameters the portal passes to build-pipeline.yaml, from the deploy stacks' outputs."""
    parameters = {
        "ApplicationName": APP,
        "StagingAccountId": staging,
        "ProductionAccountId": production,
        "StagingDeployRoleArn": role_arn(staging, "deploy-role"),
        "StagingExecutionRoleArn": role_arn(staging, "cfn-execution-role"),
        "ProductionDeployRoleArn": role_arn(production, "deploy-role"),
        "ProductionExecutionRoleArn": role_arn(production, "cfn-execution-role"),
        "PortalUrl": PORTAL_URL,
    }
    parameters.update(overrides)
    return parameters


GITHUB = {
    "SourceProvider": "GitHub",
    "ConnectionArn": "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
    "FullRepositoryId": "acme/orders-api",
}
