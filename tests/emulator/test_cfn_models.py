"""The emulator's resource types, declared on EmulatedResource, as moto's CloudFormation finds them."""
from __future__ import annotations

import pytest
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudformation.parsing import get_model_map, get_name_type_map
from moto.core.common_models import CloudFormationModel

from emulator.cfn.resources.apigateway import Deployment, RestApi, Stage
from emulator.cfn.resources.awslambda import LambdaFunction, LambdaPermission
from emulator.cfn.resources.codebuild import CodeBuildProject
from emulator.cfn.resources.codecommit import CodeCommitRepository
from emulator.cfn.resources.model import EmulatedResource
from emulator.cfn.resources.policies import BucketPolicy, TopicPolicy
from emulator.cfn.resources.sns import Subscription
from emulator.codepipeline.cfn_resource import CodePipelineStackResource
from emulator.install import install

TYPES = {
    CodeCommitRepository: ("AWS::CodeCommit::Repository", "RepositoryName",
                           {"Arn", "CloneUrlHttp", "CloneUrlSsh", "Name"}),
    CodeBuildProject: ("AWS::CodeBuild::Project", "Name", {"Arn"}),
    Subscription: ("AWS::SNS::Subscription", "", {"Arn"}),
    BucketPolicy: ("AWS::S3::BucketPolicy", "", set()),
    TopicPolicy: ("AWS::SNS::TopicPolicy", "", {"Id"}),
    CodePipelineStackResource: ("AWS::CodePipeline::Pipeline", "Name", {"Version"}),
    # These replace moto's own models of the types: the map must name the emulator's.
    LambdaFunction: ("AWS::Lambda::Function", "FunctionName", {"Arn"}),
    LambdaPermission: ("AWS::Lambda::Permission", "", set()),
    RestApi: ("AWS::ApiGateway::RestApi", "", set()),
    Deployment: ("AWS::ApiGateway::Deployment", "", set()),
    Stage: ("AWS::ApiGateway::Stage", "StageName", set()),
}


@pytest.mark.parametrize("model", TYPES, ids=lambda model: model.__name__)
def test_moto_finds_each_type_with_its_name_property(model):
    install()
    resource_type, name_property, _ = TYPES[model]

    assert get_model_map()[resource_type] is model
    assert get_name_type_map()[resource_type] == name_property


@pytest.mark.parametrize("model", TYPES, ids=lambda model: model.__name__)
def test_each_type_answers_get_att_for_exactly_its_attributes(model):
    _, _, attributes = TYPES[model]

    assert {a for a in ("Arn", "CloneUrlHttp", "CloneUrlSsh", "Name", "Id", "Version", "Nope")
            if model.has_cfn_attr(a)} == attributes


def test_an_unknown_attribute_is_moto_s_get_att_error():
    subscription = Subscription("123456789012", "us-east-1", "arn:aws:sns:us-east-1:123456789012:t:1")

    assert subscription.get_cfn_attribute("Arn") == "arn:aws:sns:us-east-1:123456789012:t:1"
    with pytest.raises(UnformattedGetAttTemplateException):
        subscription.get_cfn_attribute("Endpoint")


def test_a_type_moto_would_not_find_is_refused_when_defined():
    with pytest.raises(TypeError, match="direct bases"):
        class Nested(Subscription):  # noqa: F841 - a subclass of a type is no direct subclass
            TYPE = "AWS::SNS::NestedSubscription"


def test_a_type_without_its_resource_type_is_refused_when_defined():
    with pytest.raises(TypeError, match="must declare its resource TYPE"):
        class Untyped(EmulatedResource, CloudFormationModel):  # noqa: F841
            pass
