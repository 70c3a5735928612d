"""AWS::CodeBuild::Project on moto's CodeBuild backend."""
from __future__ import annotations

from typing import Any

from moto.codebuild.models import CodeBuildBackend, codebuild_backends
from moto.core.common_models import CloudFormationModel
from moto.core.utils import unix_time

from emulator.cfn.resources.hooks import TypeHooks, camel_keys
from emulator.cfn.resources.model import EmulatedResource

# The API spells a few members differently from the resource properties.
RENAMES = {"BuildSpec": "buildspec", "S3Logs": "s3Logs", "CloudWatchLogs": "cloudWatchLogs"}


class CodeBuildProject(EmulatedResource, CloudFormationModel):
    """A stack-owned project; its data lives in moto's CodeBuild backend."""

    TYPE = "AWS::CodeBuild::Project"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = {"Arn": lambda project: project.arn}

    def __init__(self, account_id: str, region_name: str, name: str) -> None:
        super().__init__(account_id, region_name)
        self.name = name

    @property
    def backend(self) -> CodeBuildBackend:
        return codebuild_backends[self.account_id][self.region_name]

    @property
    def arn(self) -> str:
        return self.backend.codebuild_projects[self.name].arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> CodeBuildProject:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("Name", resource_name)
        project = cls(account_id, region_name, name)
        project.write(properties)
        return project

    def write(self, properties: dict[str, Any]) -> None:
        """Create or replace the backend's project from the resource properties."""
        backend = self.backend
        created = backend.codebuild_projects[self.name].project_metadata["created"] \
            if self.name in backend.codebuild_projects else None
        history = backend.build_history.get(self.name, [])
        backend.create_project(
            project_name=self.name,
            description=properties.get("Description"),
            project_source=camel_keys(properties["Source"], RENAMES),
            artifacts=camel_keys(properties["Artifacts"], RENAMES),
            environment=camel_keys(properties["Environment"], RENAMES),
            service_role=properties["ServiceRole"],
            tags=camel_keys(properties.get("Tags", []), RENAMES),
            cache=camel_keys(properties.get("Cache"), RENAMES),
            timeout=properties.get("TimeoutInMinutes", 60),
            queued_timeout=properties.get("QueuedTimeoutInMinutes", 480),
            source_version=properties.get("SourceVersion"),
            logs_config=camel_keys(properties.get("LogsConfig"), RENAMES),
            vpc_config=camel_keys(properties.get("VpcConfig"), RENAMES),
        )
        metadata = backend.codebuild_projects[self.name].project_metadata
        if properties.get("EncryptionKey"):
            metadata["encryptionKey"] = properties["EncryptionKey"]
        if created is not None:
            metadata["created"] = created
            metadata["lastModifiedDate"] = unix_time()
        backend.build_history[self.name] = history


def _update(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> CodeBuildProject:
    project: CodeBuildProject = existing.model
    project.write(properties)
    return project


def _delete(existing: Any, account_id: str, region: str) -> None:
    codebuild_backends[account_id][region].delete_project(existing.model.name)


HOOKS = {"AWS::CodeBuild::Project": TypeHooks(update=_update, delete=_delete)}
