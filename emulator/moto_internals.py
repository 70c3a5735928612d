"""Every part of moto the emulator reads, subclasses or calls without patching it.

The patches themselves are declared beside their code and installed through
``emulator.patches.MOTO``. ``tests/emulator/test_moto_seam.py`` checks this list and the patches
against the installed moto, and checks that every name the emulator imports from moto (and every
private attribute it touches) is listed here: on an upgrade, these are what to re-check.
"""
from __future__ import annotations

from emulator.patches import Internal, Kind

F, C, V, P = Kind.FUNCTION, Kind.CLASS, Kind.VALUE, Kind.PROPERTY
CACHED, ATTR, MODULE = Kind.CACHED_FUNCTION, Kind.INSTANCE_ATTRIBUTE, Kind.MODULE


def _group(module: str, why: str, names: dict[str, Kind]) -> tuple[Internal, ...]:
    return tuple(Internal(f"{module}:{name}", kind, why) for name, kind in names.items())


INTERNALS: tuple[Internal, ...] = (
    # ---- CloudFormation: the emulator's engine lives inside moto's stack and resource map ----
    *_group("moto.cloudformation.parsing", "the engine resolves and creates resources with moto's parser", {
        "NULL_MODELS": V, "OutputMap": C, "ResourceMap": C, "clean_json": F,
        "generate_resource_name": F, "get_model_map": CACHED, "parse_condition": F,
        "resource_class_from_type": F, "resource_name_property_from_type": F,
    }),
    *_group("moto.cloudformation.parsing",
            "moto caches its resource-type map; cleared so the emulator's types are seen", {
                "get_model_list": CACHED, "get_name_type_map": CACHED,
            }),
    *_group("moto.cloudformation.parsing", "the resources created so far, as Ref and Fn::GetAtt see them", {
        "ResourceMap._parsed_resources": ATTR, "ResourceMap._resource_json_map": ATTR,
        "ResourceMap._template": ATTR, "ResourceMap.load": F, "ResourceMap.load_parameters": F,
        "ResourceMap.load_mapping": F, "ResourceMap.load_conditions": F, "ResourceMap.lazy_condition_map": ATTR,
        "ResourceMap.resolved_parameters": ATTR, "ResourceMap.input_parameters": ATTR,
    }),
    *_group("moto.cloudformation.parsing", "deletes a resource without a delete hook", {
        "ResourceMap._delete_resource": F,
    }),
    *_group("moto.cloudformation", "moto's CloudFormation modules the emulator reaches into", {
        "parsing": MODULE, "urls": MODULE,
    }),
    *_group("moto.cloudformation.models", "EmulatedStack and the backend subclass these", {
        "CloudFormationBackend": C, "Stack": C, "Event": C, "cloudformation_backends": V,
        "Stack.Meta": C, "Stack.outputs": P, "Stack._create_resource_map": F, "Stack._add_stack_event": F,
        "CloudFormationBackend.stacks": ATTR, "CloudFormationBackend.deleted_stacks": ATTR,
        "CloudFormationBackend.exports": ATTR,
    }),
    *_group("moto.cloudformation.responses", "the request handlers read parameters with moto's helpers", {
        "CloudFormationResponse": C, "CloudFormationResponse._get_stack_from_s3_url": F,
        "CloudFormationResponse.cloudformation_backend": P,
    }),
    *_group("moto.core.responses", "every handler reads its request through BaseResponse", {
        "ActionResult": C, "EmptyResult": C, "BaseResponse._get_param": F, "BaseResponse._get_bool_param": F,
        "BaseResponse._get_int_param": F, "BaseResponse.call_action": F, "BaseResponse.get_access_key": F,
    }),
    *_group("moto.core.base_backend", "the emulator swaps the class new CloudFormation accounts get", {
        "BaseBackend._url_module": P, "BackendDict": C, "backend_lock": V,
    }),
    *_group("moto.cloudformation.exceptions", "errors raised as CloudFormation words them", {
        "AlreadyExistsException": C, "CloudFormationError": C, "UnformattedGetAttTemplateException": C,
        "UnsupportedAttribute": C, "ValidationError": C,
    }),
    *_group("moto.cloudformation.utils", "ids and names as moto makes them", {
        "generate_changeset_id": F, "generate_stack_id": F, "validate_create_change_set": F,
    }),
    *_group("moto.core.common_models", "resource types are CloudFormationModel's direct subclasses", {
        "BaseModel": C, "CloudFormationModel": C,
    }),
    *_group("moto.core.utils", "timestamps as moto writes them", {
        "iso_8601_datetime_with_milliseconds": F, "iso_8601_datetime_without_milliseconds": F,
        "unix_time": F, "utcfromtimestamp": F, "utcnow": F,
    }),
    # ---- the services whose resources the stacks create and update in place ----
    *_group("moto.codebuild.models", "AWS::CodeBuild::Project stores its project in moto's backend", {
        "CodeBuildBackend": C, "codebuild_backends": V,
    }),
    # ---- the local CodeBuild (emulator.codebuild) ----
    *_group("moto.codebuild.responses", "BatchGetBuilds and ListBuildsForProject wrapped; the Reports API added", {
        "CodeBuildResponse": C,
    }),
    *_group("moto.codebuild.exceptions", "CodeBuild's errors as moto words them", {
        "InvalidInputException": C, "ResourceNotFoundException": C,
    }),
    *_group("moto.codebuild.models", "a build starts from the project's metadata and joins its build history", {
        "CodeBuild.project_metadata": ATTR, "CodeBuildBackend.codebuild_projects": ATTR,
        "CodeBuildBackend.build_history": ATTR,
    }),
    *_group("moto.logs.exceptions", "two builds may create the project's log group at once",
            {"ResourceAlreadyExistsException": C}),
    *_group("moto.ssm.models", "PARAMETER_STORE build variables read the parameter", {"ssm_backends": V}),
    *_group("moto.codecommit.models", "AWS::CodeCommit::Repository and the source actions use moto's repositories", {
        "CodeCommit": C, "CodeCommitBackend": C, "codecommit_backends": V,
        "CodeCommit.repository_metadata": ATTR, "CodeCommitBackend.repositories": ATTR,
    }),
    *_group("moto.codecommit.responses", "git-backed handlers added to moto's CodeCommit", {
        "CodeCommitResponse": C,
    }),
    *_group("moto.codecommit.exceptions", "CodeCommit's modelled errors", {
        "InvalidRepositoryNameException": C, "RepositoryDoesNotExistException": C,
    }),
    *_group("moto.events.models", "rules updated in place; pipeline events", {"events_backends": V}),
    *_group("moto.events.models", "EventBridge delivery reads rules, buses and their policy statements", {
        "Rule": C, "EventBusPolicyStatement": C, "EventBus._statements": ATTR,
    }),
    *_group("moto.events.utils", "a target's InputTransformer, applied as moto does", {"EventTemplateParser": C}),
    *_group("moto.sqs.models", "EventBridge delivers to queues; AWS::SQS::QueuePolicy sets their policy",
            {"sqs_backends": V}),
    *_group("moto.utilities.arns", "a target's ARN, read as moto reads it", {"parse_arn": F}),
    *_group("moto.iam.models", "roles, policies and trust policies", {"Role": C, "iam_backends": V}),
    *_group("moto.iam.models", "an AWS managed policy a role attaches is added to its account", {
        "AWSManagedPolicy": C, "IAMBackend.managed_policies": ATTR,
    }),
    *_group("moto.iam.aws_managed_policies", "AWS's managed policies, by name (SAM's policy map)", {
        "aws_managed_policies_data": V,
    }),
    *_group("moto.awslambda.models", "AWS::Lambda::Function/Permission create moto's functions", {
        "lambda_backends": V,
    }),
    *_group("moto.apigateway.models", "AWS::ApiGateway::RestApi/Deployment/Stage live in moto's backend", {
        "apigateway_backends": V,
    }),
    *_group("moto.s3.exceptions", "a function's code object is missing", {"MissingKey": C}),
    *_group("moto.iam.exceptions", "a missing role", {"NotFoundException": C}),
    *_group("moto.kms.models", "keys updated in place", {"kms_backends": V}),
    *_group("moto.logs.models", "log groups updated in place", {"logs_backends": V}),
    *_group("moto.s3.cloud_formation", "bucket encryption as the template writes it",
            {"cfn_to_api_encryption": F}),
    *_group("moto.s3.models", "bucket configuration and bucket policies", {"FakeBucket": C, "s3_backends": V}),
    *_group("moto.s3.exceptions", "the source action writes to the artifact bucket", {"MissingBucket": C}),
    *_group("moto.s3.responses", "the bucket-policy check remembers each request", {"S3Response": C}),
    *_group("moto.iam.access_control", "what a bucket policy decides", {"PermissionResult": C}),
    *_group("moto.sns.models", "subscriptions, topic policies and tags", {
        "SNSBackend": C, "sns_backends": V, "SNSBackend._find_subscription": F,
        "Topic._policy_json": ATTR, "Topic._create_default_topic_policy": F, "Topic._tags": ATTR,
    }),
    *_group("moto.sts.models", "the session behind an assumed role's access key", {"sts_backends": V}),
    *_group("moto.sts.responses", "AssumeRole and GetCallerIdentity are wrapped", {"TokenResponse": C}),
    *_group("moto.sts.exceptions", "AWS's validation errors of AssumeRole", {"STSValidationError": C}),
    # ---- CodePipeline: the engine keeps executions on moto's pipeline objects ----
    *_group("moto.codepipeline.models", "pipelines live in moto's backend; the engine reads their fields", {
        "CodePipeline": C, "CodePipelineBackend": C, "codepipeline_backends": V,
        "CodePipeline.pipeline": ATTR, "CodePipeline.executions": ATTR, "CodePipeline.tags": ATTR,
        "CodePipeline._arn": ATTR, "CodePipeline._created": ATTR, "CodePipeline._updated": ATTR,
        "CodePipelineBackend.pipelines": ATTR,
    }),
    *_group("moto.codepipeline.responses", "handlers added and replaced", {"CodePipelineResponse": C}),
    *_group("moto.core.exceptions", "CodePipeline's JSON errors", {"JsonRESTError": C}),
    # ---- the server, the control API and ids ----
    *_group("moto.server", "the emulator serves moto's own WSGI app", {
        "DomainDispatcherApplication": C, "MotoRequestHandler": C, "create_backend_app": F,
    }),
    *_group("moto.moto_api._internal", "ids from moto's seeded random source", {"mock_random": V}),
    *_group("moto.moto_api._internal.models", "POST /_emulator/reset empties moto's backends",
            {"moto_api_backend": V}),
    *_group("moto.core", "the default credentials' account", {"DEFAULT_ACCOUNT_ID": V}),
    *_group("moto.utilities.utils", "partition of a region", {"get_partition": F}),
)
