"""The CodeCommit Source action's work: the commit's tree, zipped, in the pipeline's artifact bucket.

As CodePipeline does with ``OutputArtifactFormat: CODE_ZIP`` (the default), the output artifact is
``git archive --format=zip`` of the commit (files at the root, no ``.git``), stored under the key
the execution's action records show (``Execution.artifact_key``), encrypted with the artifact
store's KMS key (SSE-KMS; AWS's ``aws/s3`` key when the store names none). The object is written
inside the emulator, in the pipeline's account, as CodePipeline's service writes it: bucket and
key policies are not evaluated for the pipeline role here. ``CODEBUILD_CLONE_REF`` (a full clone
instead of a zip) is not emulated and fails the action, rather than hand over something else.
"""
from __future__ import annotations

import logging
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.kms.models import kms_backends
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from emulator.codecommit import repos
from emulator.codecommit.lookup import get

logger = logging.getLogger(__name__)

DEFAULT_KEY_ALIAS = "alias/aws/s3"


class SourceActionError(Exception):
    """Why the Source action fails; the message is the action's summary."""


def artifact_store(declaration: dict[str, Any], region: str) -> dict[str, Any]:
    """The store of the action's region: ``artifactStores[region]`` or the single ``artifactStore``."""
    stores = declaration.get("artifactStores") or {}
    store = stores.get(region) or declaration.get("artifactStore")
    if not store or not store.get("location"):
        raise SourceActionError(f"The pipeline has no artifact store in region {region}.")
    return dict(store)


def _kms_key_arn(store: dict[str, Any], account_id: str, region: str) -> str:
    key = store.get("encryptionKey") or {}
    key_id = str(key.get("id") or DEFAULT_KEY_ALIAS)
    # A key ARN (or alias ARN) names its own account and region; an id or alias is the pipeline's.
    if key_id.startswith("arn:"):
        parts = key_id.split(":")
        region, account_id = parts[3], parts[4]
    backend = kms_backends[account_id][region]
    try:
        found = backend.describe_key(key_id)
    except (KeyError, JsonRESTError):
        raise SourceActionError(
            f"The artifact store's KMS key {key_id} was not found in account {account_id}, region {region}."
        ) from None
    if found.key_state != "Enabled":
        raise SourceActionError(f"The artifact store's KMS key {found.arn} is {found.key_state}, so it cannot "
                                "encrypt the source artifact.")
    return str(found.arn)


def write_artifact(account_id: str, region: str, declaration: dict[str, Any], repository: str,
                   commit_id: str, key: str) -> tuple[str, str]:
    """Zip ``commit_id`` of ``repository`` into the artifact bucket at ``key``; return (bucket, key).

    :raise SourceActionError: no such repository or commit, no bucket, no usable KMS key.
    """
    located = get(account_id, region, repository)
    if located is None:
        raise SourceActionError(f"The repository {repository} does not exist in account {account_id}, "
                                f"region {region}.")
    try:
        archive = repos.archive_zip(located.path, commit_id)
    except repos.GitError:
        raise SourceActionError(f"The commit {commit_id} does not exist in repository {repository}.") from None
    store = artifact_store(declaration, region)
    bucket = str(store["location"])
    kms_key = _kms_key_arn(store, account_id, region)
    backend = s3_backends[account_id][get_partition(region)]
    try:
        backend.get_bucket(bucket)
    except MissingBucket:
        raise SourceActionError(f"The artifact bucket {bucket} does not exist.") from None
    backend.put_object(bucket, key, archive, encryption="aws:kms", kms_key_id=kms_key)
    logger.info("source artifact s3://%s/%s: %s of %s (%d bytes, %s)", bucket, key, commit_id[:8], repository,
                len(archive), kms_key)
    return bucket, key
