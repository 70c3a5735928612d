"""A per-account S3 bucket for templates too big to send inline.

CloudFormation takes at most 51,200 bytes of TemplateBody; a bigger template must be read by
CloudFormation from S3 (TemplateURL) in a bucket it can reach, so the worker keeps one staging
bucket in each target account and region, created on first use.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from botocore.exceptions import ClientError

from worker import aws_errors
from worker.templates import Template

logger = logging.getLogger(__name__)

INLINE_LIMIT_BYTES = 51_200
# Staged copies are only needed while a change set is being created; keep them a while for
# review, then let S3 remove them.
EXPIRE_AFTER_DAYS = 30


class StagingError(Exception):
    """The staging bucket could not be prepared or written."""


def bucket_name(account_id: str, region: str) -> str:
    return f"lpp-templates-{account_id}-{region}"


class TemplateStaging:
    """Upload templates to ``lpp-templates-ACCOUNT-REGION`` and return their HTTPS URLs."""

    def __init__(self, s3_client: Any | Callable[[], Any], account_id: str, region: str) -> None:
        # A callable defers making the client (slow to create) until a big template needs it.
        self._s3 = s3_client
        self.account_id = account_id
        self.region = region
        self.bucket = bucket_name(account_id, region)

    @property
    def s3(self) -> Any:
        if callable(self._s3) and not hasattr(self._s3, "meta"):
            self._s3 = self._s3()
        return self._s3

    def url_for(self, template: Template, prefix: str = "") -> str:
        """Upload ``template`` (content-addressed, so a re-run writes the same key) and return its URL."""
        self.ensure_bucket()
        key = f"{prefix.strip('/') + '/' if prefix else ''}{template.sha256}/{template.name}"
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=template.body.encode(),
                ContentType="application/x-yaml", ServerSideEncryption="AES256",
            )
        except ClientError as err:
            raise StagingError(f"cannot upload {template.name} to s3://{self.bucket}/{key}: {err}") from err
        logger.info("staged %s (%d bytes) at s3://%s/%s (account %s, region %s)",
                    template.name, template.size, self.bucket, key, self.account_id, self.region)
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{key}"

    def ensure_bucket(self) -> None:
        try:
            self.s3.head_bucket(Bucket=self.bucket, ExpectedBucketOwner=self.account_id)
            return
        except ClientError as err:
            if not aws_errors.is_bucket_missing(err):
                raise StagingError(f"cannot use staging bucket {self.bucket}: {err}") from err
        try:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.s3.create_bucket(**kwargs)
        except ClientError as err:
            if not aws_errors.is_already_exists(err):
                raise StagingError(f"cannot create staging bucket {self.bucket}: {err}") from err
        try:
            self.s3.put_public_access_block(
                Bucket=self.bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
                },
            )
            self.s3.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": [{
                    "ID": "expire-staged-templates", "Status": "Enabled", "Filter": {"Prefix": ""},
                    "Expiration": {"Days": EXPIRE_AFTER_DAYS},
                }]},
            )
        except ClientError as err:
            raise StagingError(f"cannot configure staging bucket {self.bucket}: {err}") from err
        logger.info("created staging bucket %s (account %s, region %s)", self.bucket, self.account_id, self.region)
