"""CodePipeline's modelled errors, rendered in the JSON protocol (``__type`` and ``message``)."""
from __future__ import annotations

from moto.core.exceptions import JsonRESTError


class CodePipelineError(JsonRESTError):
    """Base for the errors below; the class name is the AWS error code."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class ValidationException(CodePipelineError):
    pass


class InvalidStructureException(CodePipelineError):
    pass


class PipelineNameInUseException(CodePipelineError):
    pass


class PipelineNotFoundException(CodePipelineError):
    pass


class PipelineExecutionNotFoundException(CodePipelineError):
    pass


class StageNotFoundException(CodePipelineError):
    pass


class ActionNotFoundException(CodePipelineError):
    pass


class InvalidApprovalTokenException(CodePipelineError):
    pass


class ApprovalAlreadyCompletedException(CodePipelineError):
    pass


class StageNotRetryableException(CodePipelineError):
    pass


class NotLatestPipelineExecutionException(CodePipelineError):
    pass


class PipelineExecutionNotStoppableException(CodePipelineError):
    pass


class DuplicatedStopRequestException(CodePipelineError):
    pass


class InvalidNextTokenException(CodePipelineError):
    pass


class ConflictException(CodePipelineError):
    # The only one of these AWS models with its own HTTP status.
    code = 409


class ResourceNotFoundException(CodePipelineError):
    pass
