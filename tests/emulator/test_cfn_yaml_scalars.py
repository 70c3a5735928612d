"""YAML booleans and numbers are strings to CloudFormation, compared case-sensitively.

PyYAML reads ``true`` as True (Python's "True"), ``30`` as 30; CloudFormation reads "true" and
"30". Each place a template can hold such a scalar is checked through the emulator's API.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import outputs, params

FLAGS = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Verbose:
    Type: String
    AllowedValues: [true, false]
    Default: false
  Tracing:
    Type: String
    AllowedValues: [true, false]
    Default: true
  Retention:
    Type: Number
    AllowedValues: [1, 7, 30]
    Default: 30
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref Retention
Outputs:
  Verbose:
    Value: !Ref Verbose
  Tracing:
    Value: !Ref Tracing
  Retention:
    Value: !Ref Retention
"""


def create(cfn, body: str, **values: str) -> dict:
    cfn.create_stack(StackName="scalars", TemplateBody=body, Parameters=params(**values))
    stack = cfn.describe_stacks(StackName="scalars")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return stack


def test_allowed_values_of_yaml_booleans_accept_their_lower_case_strings(client):
    stack = create(client("cloudformation"), FLAGS, Verbose="true", Tracing="false", Retention="7")

    assert outputs(stack) == {"Verbose": "true", "Tracing": "false", "Retention": "7"}
    assert client("logs").describe_log_groups()["logGroups"][0]["retentionInDays"] == 7


def test_yaml_defaults_are_the_strings_cloudformation_reads(client):
    stack = create(client("cloudformation"), FLAGS)

    assert outputs(stack) == {"Verbose": "false", "Tracing": "true", "Retention": "30"}
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {
        "Verbose": "false", "Tracing": "true", "Retention": "30"}
    assert client("logs").describe_log_groups()["logGroups"][0]["retentionInDays"] == 30


@pytest.mark.parametrize(("values", "refused"), [
    ({"Verbose": "False"}, "Verbose"),
    ({"Verbose": "false", "Tracing": "True"}, "Tracing"),  # the first one is fine: the second is named
    ({"Verbose": "false", "Tracing": "TRUE"}, "Tracing"),
    ({"Retention": "14"}, "Retention"),
])
def test_allowed_values_are_case_sensitive_and_the_error_names_the_parameter(client, values, refused):
    cfn = client("cloudformation")

    for call in (lambda: cfn.create_stack(StackName="scalars", TemplateBody=FLAGS, Parameters=params(**values)),
                 lambda: cfn.create_change_set(StackName="scalars", ChangeSetName="c", ChangeSetType="CREATE",
                                               TemplateBody=FLAGS, Parameters=params(**values))):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Message"] == f"Parameter '{refused}' must be one of AllowedValues"


def test_a_number_parameter_refuses_what_is_not_a_number(client):
    with pytest.raises(ClientError) as caught:
        client("cloudformation").create_stack(StackName="scalars", TemplateBody=FLAGS,
                                              Parameters=params(Retention="thirty"))
    assert caught.value.response["Error"]["Message"] == "Parameter 'Retention' must be a number."


CONDITIONS = """\
Parameters:
  Flag:
    Type: String
Conditions:
  IsTrue: !Equals [!Ref Flag, true]
  Numbered: !Equals [!Ref Flag, 1]
Resources:
  WhenTrue:
    Type: AWS::SNS::Topic
    Condition: IsTrue
  WhenNumbered:
    Type: AWS::SNS::Topic
    Condition: Numbered
  Always:
    Type: AWS::SNS::Topic
Outputs:
  Matched:
    Value: !If [IsTrue, matched, different]
"""


@pytest.mark.parametrize(("flag", "created"), [
    ("true", {"Always", "WhenTrue"}),
    ("True", {"Always"}),  # Fn::Equals compares strings, case-sensitively
    ("1", {"Always", "WhenNumbered"}),
    ("1.0", {"Always"}),
])
def test_fn_equals_compares_yaml_scalars_as_strings(client, flag, created):
    cfn = client("cloudformation")

    stack = create(cfn, CONDITIONS, Flag=flag)

    resources = cfn.list_stack_resources(StackName="scalars")["StackResourceSummaries"]
    assert {r["LogicalResourceId"] for r in resources} == created
    assert outputs(stack)["Matched"] == ("matched" if "WhenTrue" in created else "different")


INTRINSICS = """\
Parameters:
  Flag:
    Type: String
    AllowedValues: [true, false]
Mappings:
  ByFlag:
    true:
      Retention: 7
      Verbose: true
    false:
      Retention: 30
      Verbose: false
  ByDays:
    Days:
      7: seven
      30: thirty
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Join ["-", [app, true, 10, 1.5, !Ref Flag]]
      RetentionInDays: !FindInMap [ByFlag, !Ref Flag, Retention]
      Tags:
        - Key: verbose
          Value: !FindInMap [ByFlag, !Ref Flag, Verbose]
        - Key: literal
          Value: false
        - Key: number
          Value: 42
Outputs:
  Joined:
    Value: !Join ["/", [false, 3]]
  Substituted:
    Value: !Sub ["${A}:${B}:${C}", {A: true, B: 2, C: !Ref Flag}]
  Days:
    Value: !FindInMap [ByDays, Days, 30]
  Literal:
    Value: true
"""


@pytest.mark.parametrize(("flag", "retention", "verbose"), [("true", 7, "true"), ("false", 30, "false")])
def test_join_sub_mappings_and_property_values_read_yaml_scalars_as_strings(client, flag, retention, verbose):
    stack = create(client("cloudformation"), INTRINSICS, Flag=flag)

    group = client("logs").describe_log_groups()["logGroups"][0]
    assert group["logGroupName"] == f"app-true-10-1.5-{flag}"
    assert group["retentionInDays"] == retention  # an integer property stays an integer
    tags = client("logs").list_tags_log_group(logGroupName=group["logGroupName"])["tags"]
    assert tags == {"verbose": verbose, "literal": "false", "number": "42"}
    assert outputs(stack) == {"Joined": "false/3", "Substituted": f"true:2:{flag}", "Days": "thirty",
                              "Literal": "true"}


def test_a_changed_yaml_scalar_parameter_shows_in_the_change_set(client):
    cfn = client("cloudformation")
    create(cfn, INTRINSICS, Flag="false")

    cfn.create_change_set(StackName="scalars", ChangeSetName="flip", ChangeSetType="UPDATE", TemplateBody=INTRINSICS,
                          Parameters=params(Flag="true"))

    change = cfn.describe_change_set(StackName="scalars", ChangeSetName="flip")["Changes"][0]["ResourceChange"]
    assert (change["LogicalResourceId"], change["Replacement"]) == ("Group", "True")  # LogGroupName changes
    names = {d["Target"]["Name"] for d in change["Details"]}
    assert names == {"LogGroupName", "RetentionInDays", "Tags"}
