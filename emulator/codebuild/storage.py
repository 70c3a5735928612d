"""Artifacts in and out of S3, over HTTP to the emulator with the service role's session.

CodeBuild fetches the source artifact and uploads the output with the project's service role,
so the artifact bucket's policy and the KMS key apply to it as to any caller: the requests go
through the emulator's own server (its S3, bucket-policy and STS extensions), not into moto's
backend behind their back.
"""
from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from emulator.codebuild.credentials import Credentials


class StorageError(Exception):
    """S3 refused or failed; the message is the phase context's."""


def client(endpoint: str, region: str, credentials: Credentials) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token, region_name=region)
    return session.client("s3", endpoint_url=endpoint,
                          config=Config(retries={"mode": "standard", "total_max_attempts": 3}))


def download(s3: Any, bucket: str, key: str) -> bytes:
    """:raise StorageError: as CodeBuild words a source it cannot fetch."""
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as err:
        error = err.response.get("Error", {})
        raise StorageError(f"{error.get('Code', 'Error')}: {error.get('Message', err)} for primary source and "
                           f"source version arn:aws:s3:::{bucket}/{key}") from err
    except BotoCoreError as err:
        raise StorageError(f"{err} for primary source and source version arn:aws:s3:::{bucket}/{key}") from err


def upload(s3: Any, bucket: str, key: str, body: bytes, kms_key: str | None) -> None:
    """Put ``body`` SSE-KMS encrypted (with ``kms_key``, else the account's aws/s3 key).

    :raise StorageError: the bucket policy, the key or S3 refused the upload.
    """
    extra = {"SSEKMSKeyId": kms_key} if kms_key else {}
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ServerSideEncryption="aws:kms", **extra)
    except ClientError as err:
        error = err.response.get("Error", {})
        raise StorageError(f"Error uploading artifacts: {error.get('Code', 'Error')}: "
                           f"{error.get('Message', err)}") from err
    except BotoCoreError as err:
        raise StorageError(f"Error uploading artifacts: {err}") from err
