"""Input artifacts read as the action's role, through the bucket policy and the KMS key policy.

CodePipeline downloads a deploy action's input artifacts from the artifact bucket (in the
pipeline's account) with the action role's credentials, so a cross-account deploy needs the
bucket policy to grant ``s3:GetObject`` and, the artifact being SSE-KMS, the key policy to grant
``kms:Decrypt`` to that role. Within the bucket's account no bucket-policy grant is needed (IAM
policies decide, and the emulator does not evaluate them); an explicit Deny always wins. The
output artifact (``OutputFileName``) is written by the service itself, as the Source action's is.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile

from moto.core.exceptions import JsonRESTError
from moto.iam.access_control import PermissionResult
from moto.kms.models import kms_backends
from moto.moto_api._internal import mock_random
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from emulator import kms_policy
from emulator.cfn_action.access import PERMISSION_ERROR, ActionError
from emulator.codepipeline.jobs import Artifact
from emulator.s3policy.evaluate import ObjectRequest, decide
from emulator.sts import Caller

logger = logging.getLogger(__name__)

DEFAULT_KEY_ALIAS = "alias/aws/s3"


def _s3_error(underlying: str) -> ActionError:
    # CodePipeline wraps the SDK's exception text; S3 reports a KMS refusal as its own AccessDenied.
    request_id = mock_random.get_random_hex(16).upper()
    return ActionError(
        "Insufficient permissions The provided role does not have permissions to perform this action. "
        f"Underlying error: {underlying} (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; "
        f"Request ID: {request_id}; Proxy: null)", PERMISSION_ERROR)


def read(artifact: Artifact, caller: Caller, bucket_account: str, region: str) -> bytes:
    """The artifact's bytes, as ``caller`` may read them from the bucket in ``bucket_account``.

    :raise ActionError: no bucket or object, or the bucket or key policy does not let ``caller`` read it.
    """
    backend = s3_backends[bucket_account][get_partition(region)]
    try:
        bucket = backend.get_bucket(artifact.bucket)
    except MissingBucket:
        raise ActionError(f"The artifact bucket {artifact.bucket} does not exist.") from None
    resource = f"arn:{get_partition(region)}:s3:::{artifact.bucket}/{artifact.key}"
    result = PermissionResult.NEUTRAL
    if bucket.policy is not None:
        text = bucket.policy.decode() if isinstance(bucket.policy, bytes) else str(bucket.policy)
        decision = decide(text, ObjectRequest("s3:GetObject", resource, caller))
        result = decision.result
    if result == PermissionResult.DENIED or (caller.account_id != bucket_account
                                             and result != PermissionResult.PERMITTED):
        logger.info("deploy action: bucket policy of %s does not let %s read %s", artifact.bucket,
                    caller.arn, artifact.key)
        raise _s3_error("Access Denied")
    stored = backend.get_object(artifact.bucket, artifact.key)
    if stored is None:
        raise ActionError(f"The input artifact {artifact.name} (s3://{artifact.bucket}/{artifact.key}) does not "
                          "exist: the action that produces it has not written it.")
    if stored.encryption == "aws:kms":
        use = kms_policy.KeyUse("kms:Decrypt", str(stored.kms_key_id or DEFAULT_KEY_ALIAS), bucket_account, region,
                                via_service=f"s3.{region}.amazonaws.com")
        try:
            kms_policy.check(use, caller)
        except kms_policy.KeyAccessDenied as err:
            logger.info("deploy action: key policy refuses %s: %s", caller.arn, err)
            raise _s3_error(str(err)) from None
    return bytes(stored.value)


def member(archive: bytes, artifact_name: str, path: str) -> bytes:
    """One file of a zipped artifact. :raise ActionError: the artifact is no zip or lacks the file."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            return opened.read(path)
    except zipfile.BadZipFile:
        raise ActionError(f"The input artifact {artifact_name} is not a zip file.") from None
    except KeyError:
        raise ActionError(f"The file {path} does not exist in the input artifact {artifact_name}.") from None


def write_outputs(artifact: Artifact, file_name: str, outputs: dict[str, str], bucket_account: str,
                  region: str) -> None:
    """Zip the stack's outputs as ``file_name`` (a JSON object) into the output artifact."""
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file_name, json.dumps(outputs, indent=2))
    backend = s3_backends[bucket_account][get_partition(region)]
    try:
        backend.get_bucket(artifact.bucket)
    except MissingBucket:
        raise ActionError(f"The artifact bucket {artifact.bucket} does not exist.") from None
    backend.put_object(artifact.bucket, artifact.key, body.getvalue(), encryption="aws:kms",
                       kms_key_id=_key_arn(artifact.kms_key_id or DEFAULT_KEY_ALIAS, bucket_account, region))


def _key_arn(key_id: str, account_id: str, region: str) -> str:
    if key_id.startswith("arn:"):
        parts = key_id.split(":")
        region, account_id = parts[3], parts[4]
    try:
        return str(kms_backends[account_id][region].describe_key(key_id).arn)
    except (KeyError, JsonRESTError):
        raise ActionError(f"The artifact store's KMS key {key_id} was not found.") from None

