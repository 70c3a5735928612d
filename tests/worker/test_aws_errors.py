"""The one module that reads AWS error codes and messages."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from worker import aws_errors


def client_error(code: str, message: str = "", operation: str = "DescribeStacks") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded"])
def test_throttling_codes_are_recognised(code):
    assert aws_errors.is_throttling(client_error(code))


def test_validation_error_is_not_throttling():
    assert not aws_errors.is_throttling(client_error("ValidationError", "Rate exceeded"))


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("ValidationError", "Stack with id orders-api-pipeline does not exist", True),
    ("ValidationError", "Template format error: unsupported structure", False),
    ("AccessDenied", "does not exist", False),
])
def test_stack_missing_needs_validation_error_and_wording(code, message, expected):
    assert aws_errors.is_stack_missing(client_error(code, message)) is expected


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("ChangeSetNotFound", "ChangeSet [portal-1-2] does not exist", True),
    ("ValidationError", "Stack with id x does not exist", True),  # moto's wording
    ("InvalidChangeSetStatus", "ChangeSet is in EXECUTE_COMPLETE", False),
])
def test_change_set_missing(code, message, expected):
    assert aws_errors.is_change_set_missing(client_error(code, message, "DescribeChangeSet")) is expected


@pytest.mark.parametrize("reason", [
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    "No updates are to be performed.",
])
def test_empty_change_set_reasons(reason):
    assert aws_errors.is_no_changes_reason(reason)
    assert aws_errors.is_empty_change_set(client_error("ValidationError", reason, "CreateChangeSet"))


def test_other_change_set_failure_is_not_empty():
    assert not aws_errors.is_no_changes_reason("Template error: instance of Fn::GetAtt references undefined resource")


def test_already_executed_change_set():
    assert aws_errors.is_change_set_already_executed(
        client_error("InvalidChangeSetStatus", "ChangeSet [x] cannot be executed in its current status of [EXECUTE_COMPLETE]"))


@pytest.mark.parametrize(("code", "expected"), [("NoSuchBucket", True), ("404", True), ("AccessDenied", False)])
def test_bucket_missing(code, expected):
    assert aws_errors.is_bucket_missing(client_error(code)) is expected


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("BucketAlreadyOwnedByYou", "", True),
    ("ValidationError", "Stack [x] already exists", True),
    ("ValidationError", "Parameters: [X] must have values", False),
])
def test_already_exists(code, message, expected):
    assert aws_errors.is_already_exists(client_error(code, message)) is expected


def test_access_denied():
    assert aws_errors.is_access_denied(client_error("AccessDenied", "User: x is not authorized"))
    assert not aws_errors.is_access_denied(client_error("ValidationError"))
