"""The CloudFormation-aware YAML loader and the template renderer the other tests rely on."""
from __future__ import annotations

import pytest
import yaml

from .cfn_render import ParameterError, RenderedStack, RuleError
from .cfn_yaml import if_branches, load_template_text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("!Ref Bucket", {"Ref": "Bucket"}),
        ("!Condition IsProd", {"Condition": "IsProd"}),
        ("!Sub '${AWS::Region}-x'", {"Fn::Sub": "${AWS::Region}-x"}),
        ("!Sub ['${A}', {A: !Ref B}]", {"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]}),
        ("!GetAtt Role.Arn", {"Fn::GetAtt": ["Role", "Arn"]}),
        ("!GetAtt [Role, Arn]", {"Fn::GetAtt": ["Role", "Arn"]}),
        ("!If [C, a, !Ref AWS::NoValue]", {"Fn::If": ["C", "a", {"Ref": "AWS::NoValue"}]}),
        ("!Equals [!Ref P, '']", {"Fn::Equals": [{"Ref": "P"}, ""]}),
        ("!Not [!Equals [a, b]]", {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}),
        ("!And [!Condition A, !Condition B]", {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Or [!Condition A, !Condition B]", {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}),
        ("!Select [0, !Split [',', 'a,b']]", {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}),
        ("!FindInMap [M, k1, k2]", {"Fn::FindInMap": ["M", "k1", "k2"]}),
        ("!Base64 text", {"Fn::Base64": "text"}),
        ("!ImportValue Exported", {"Fn::ImportValue": "Exported"}),
        ("!GetAZs ''", {"Fn::GetAZs": ""}),
        ("!Cidr ['10.0.0.0/16', 4, 8]", {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}),
    ],
)
def test_short_forms_load_as_long_forms(source, expected):
    assert load_template_text(f"Value: {source}\n")["Value"] == expected


def test_getatt_splits_only_at_the_first_dot():
    assert load_template_text("V: !GetAtt Db.Endpoint.Address\n")["V"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}


def test_rejects_unknown_tags():
    with pytest.raises(yaml.constructor.ConstructorError):
        load_template_text("V: !NotAFunction x\n")


def test_rejects_python_object_tags():
    with pytest.raises(yaml.constructor.ConstructorError):
        load_template_text("V: !!python/object/apply:os.system ['true']\n")


def test_if_branches_lists_both_values_without_no_value():
    value = {"Fn::If": ["C", {"Fn::If": ["D", "a", "b"]}, {"Ref": "AWS::NoValue"}]}
    assert if_branches(value) == ["a", "b"]


TEMPLATE = load_template_text(
    """
Parameters:
  Name: {Type: String, AllowedPattern: "^[a-z]+$", ConstraintDescription: lower case only}
  Mode: {Type: String, AllowedValues: [a, b], Default: a}
Rules:
  BNeedsName:
    RuleCondition: !Equals [!Ref Mode, b]
    Assertions:
      - Assert: !Not [!Equals [!Ref Name, none]]
        AssertDescription: mode b needs a name
Conditions:
  IsA: !Equals [!Ref Mode, a]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${Name}-role"
      Tags: [!If [IsA, {Key: mode, Value: a}, !Ref AWS::NoValue]]
  OnlyB:
    Type: AWS::IAM::Role
    Condition: IsA
Outputs:
  Arn: {Value: !GetAtt Role.Arn}
  Literal: {Value: !Sub "${!NotAVariable}-${AWS::Region}"}
"""
)


def test_render_resolves_functions_and_drops_no_value():
    stack = RenderedStack(TEMPLATE, {"Name": "x", "Mode": "b"}, account_id="123456789012", region="eu-west-1")
    assert stack.resources["Role"]["Properties"] == {"RoleName": "x-role", "Tags": []}
    assert "OnlyB" not in stack.resources
    assert stack.outputs == {"Arn": "arn:aws:iam::123456789012:role/x-role", "Literal": "${NotAVariable}-eu-west-1"}


@pytest.mark.parametrize(
    ("parameters", "error", "message"),
    [
        ({"Name": "X"}, ParameterError, "lower case only"),
        ({"Name": "x", "Mode": "c"}, ParameterError, "not one of"),
        ({"Mode": "a"}, ParameterError, "needs a value"),
        ({"Name": "x", "Other": "y"}, ParameterError, "not declared"),
        ({"Name": "none", "Mode": "b"}, RuleError, "mode b needs a name"),
    ],
)
def test_render_rejects_what_cloudformation_rejects(parameters, error, message):
    with pytest.raises(error, match=message):
        RenderedStack(TEMPLATE, parameters, account_id="123456789012")


def test_render_refuses_functions_it_does_not_implement():
    template = {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Properties": {"X": {"Fn::GetAZs": ""}}}}}
    with pytest.raises(NotImplementedError):
        RenderedStack(template, {}, account_id="123456789012").resources
