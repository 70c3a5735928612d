"""The one place that reads AWS error codes and messages.

CloudFormation reports several distinct situations with the same ``ValidationError`` code and
tells them apart only in the message text, so string matching is unavoidable; keeping it here
means one tested module knows the wording, and everything else asks a named question.
"""
from __future__ import annotations

from botocore.exceptions import ClientError

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "RequestThrottled",
})
ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId",
    "ExpiredToken", "ExpiredTokenException",
})
# Real CloudFormation marks an empty change set FAILED with the first reason; moto (and older
# APIs) refuse CreateChangeSet / UpdateStack outright with the second.
_EMPTY_CHANGE_SET_REASONS = (
    "didn't contain changes",
    "no updates are to be performed",
)


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def error_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))


def is_throttling(err: ClientError) -> bool:
    return error_code(err) in THROTTLING_CODES


def is_access_denied(err: ClientError) -> bool:
    return error_code(err) in ACCESS_DENIED_CODES


def is_stack_missing(err: ClientError) -> bool:
    """DescribeStacks/DescribeStackEvents on a stack name that does not exist."""
    return error_code(err) == "ValidationError" and "does not exist" in error_message(err)


def is_change_set_missing(err: ClientError) -> bool:
    """DescribeChangeSet/ExecuteChangeSet on a change set (or its stack) that is gone."""
    code = error_code(err)
    if code == "ChangeSetNotFound" or code == "ChangeSetNotFoundException":
        return True
    # moto answers a missing change set with the stack's wording.
    return code == "ValidationError" and "does not exist" in error_message(err)


def is_change_set_already_executed(err: ClientError) -> bool:
    """ExecuteChangeSet on a change set that is executing or has executed already."""
    return error_code(err) == "InvalidChangeSetStatus"


def is_no_changes_reason(reason: str) -> bool:
    """Whether a change set's StatusReason (or an error message) means "nothing to change"."""
    lowered = reason.lower()
    return any(marker in lowered for marker in _EMPTY_CHANGE_SET_REASONS)


def is_empty_change_set(err: ClientError) -> bool:
    return error_code(err) == "ValidationError" and is_no_changes_reason(error_message(err))


def is_already_exists(err: ClientError) -> bool:
    code = error_code(err)
    return code in ("AlreadyExistsException", "BucketAlreadyOwnedByYou") or (
        code == "ValidationError" and "already exists" in error_message(err)
    )


def is_bucket_missing(err: ClientError) -> bool:
    return error_code(err) in ("NoSuchBucket", "404", "NotFound")


# CodePipeline's answers to a request it will not carry out (a stage that cannot be retried, an
# execution that is not the latest or no longer stoppable, ...): the request fails with AWS's message.
PIPELINE_REFUSAL_CODES = frozenset({
    "StageNotRetryableException", "NotLatestPipelineExecutionException", "PipelineExecutionNotStoppableException",
    "DuplicatedStopRequestException", "PipelineNotFoundException", "StageNotFoundException",
    "PipelineExecutionNotFoundException", "ConflictException", "ValidationException",
    "ConcurrentPipelineExecutionsLimitExceededException", "PipelineExecutionOutdatedException",
})


def is_pipeline_refusal(err: ClientError) -> bool:
    return error_code(err) in PIPELINE_REFUSAL_CODES


def is_pipeline_missing(err: ClientError) -> bool:
    return error_code(err) == "PipelineNotFoundException"


# PutApprovalResult's answers for an approval no longer waiting for this token.
APPROVAL_COMPLETED_CODES = frozenset({"ApprovalAlreadyCompletedException", "InvalidApprovalTokenException"})


def is_approval_completed(err: ClientError) -> bool:
    return error_code(err) in APPROVAL_COMPLETED_CODES
