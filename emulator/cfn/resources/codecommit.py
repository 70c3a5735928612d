"""AWS::CodeCommit::Repository on moto's CodeCommit backend."""
from __future__ import annotations

from typing import Any

from moto.codecommit.models import CodeCommitBackend, codecommit_backends
from moto.core.common_models import CloudFormationModel
from moto.core.utils import iso_8601_datetime_with_milliseconds

from emulator.cfn.resources.hooks import TypeHooks, tag_dict
from emulator.cfn.resources.model import EmulatedResource

# Fn::GetAtt name -> key of moto's repository metadata.
METADATA_KEYS = {"Arn": "Arn", "CloneUrlHttp": "cloneUrlHttp", "CloneUrlSsh": "cloneUrlSsh", "Name": "repositoryName"}


class UnsupportedPropertyError(Exception):
    """A property the emulator cannot honour; failing beats silently ignoring it."""


class CodeCommitRepository(EmulatedResource, CloudFormationModel):
    """A stack-owned repository; its data lives in moto's CodeCommit backend."""

    TYPE = "AWS::CodeCommit::Repository"
    NAME_PROPERTY = "RepositoryName"
    ATTRIBUTES = {name: (lambda repo, key=key: repo.metadata[key]) for name, key in METADATA_KEYS.items()}

    def __init__(self, account_id: str, region_name: str, name: str) -> None:
        super().__init__(account_id, region_name)
        self.name = name

    @property
    def backend(self) -> CodeCommitBackend:
        return codecommit_backends[self.account_id][self.region_name]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.backend.get_repository(self.name)

    @property
    def physical_resource_id(self) -> str:
        # CloudFormation's Ref of a repository is its id, not its name.
        return self.metadata["repositoryId"]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> CodeCommitRepository:
        properties = cloudformation_json.get("Properties", {})
        if "Code" in properties:
            raise UnsupportedPropertyError(
                "Property Code (initial commit from S3) is not supported by the emulator")
        name = properties.get("RepositoryName", resource_name)
        backend: CodeCommitBackend = codecommit_backends[account_id][region_name]
        backend.create_repository(name, properties.get("RepositoryDescription", ""))
        repository = cls(account_id, region_name, name)
        repository.apply(properties)
        return repository

    def apply(self, properties: dict[str, Any]) -> None:
        """Store the mutable properties (description, triggers, key, tags) on the repository."""
        metadata = self.metadata
        metadata["repositoryDescription"] = properties.get("RepositoryDescription", "")
        if properties.get("KmsKeyId"):
            metadata["kmsKeyId"] = properties["KmsKeyId"]
        metadata["lastModifiedDate"] = iso_8601_datetime_with_milliseconds()
        self.triggers = properties.get("Triggers", [])
        self.tags = tag_dict(properties.get("Tags"))

    def rename(self, new_name: str) -> None:
        """Rename in place, as UpdateRepositoryName does: same id, new URLs and ARN."""
        repositories = self.backend.repositories
        repository = repositories.pop(self.name)
        metadata = repository.repository_metadata
        metadata["repositoryName"] = new_name
        for key in ("cloneUrlSsh", "cloneUrlHttp", "Arn"):
            metadata[key] = metadata[key].rsplit(self.name, 1)[0] + new_name
        repositories[new_name] = repository
        self.name = new_name


def _update(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> CodeCommitRepository:
    repository: CodeCommitRepository = existing.model
    new_name = properties.get("RepositoryName", repository.name)
    if new_name != repository.name:
        repository.rename(new_name)
    repository.apply(properties)
    return repository


def _delete(existing: Any, account_id: str, region: str) -> None:
    codecommit_backends[account_id][region].delete_repository(existing.model.name)


HOOKS = {"AWS::CodeCommit::Repository": TypeHooks(update=_update, delete=_delete)}
