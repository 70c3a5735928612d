"""Database models shared by the portal and the worker (no Flask, no boto3 here)."""
from core.models.accounts import ApiToken, AuditEntry, AuditLogIsAppendOnly, Role, User, UserSession
from core.models.approvals import (ApprovalDecision, ApprovalReview, ApprovalVote, Decision, DecisionStatus,
                                   ReviewStatus)
from core.models.base import Base, utcnow
from core.models.operations import (
    ONE_AT_A_TIME,
    OneAtATime,
    Operation,
    OperationKind,
    OperationStatus,
    StackEvent,
    StackRecord,
    StackRole,
)
from core.models.pipelines import PipelineRequest, PipelineRequestKind, PipelineRequestStatus, PipelineSnapshot
from core.models.setups import AccessMethod, Setup, SetupStatus, SourceProvider
from core.models.teams import DEFAULT_TEAM, Membership, Team, TeamRole

__all__ = [
    "ONE_AT_A_TIME", "OneAtATime", "AccessMethod", "ApiToken", "ApprovalDecision", "ApprovalReview", "ApprovalVote",
    "Decision", "DecisionStatus", "ReviewStatus", "AuditEntry", "AuditLogIsAppendOnly", "Base", "Operation",
    "OperationKind", "OperationStatus", "PipelineRequest", "PipelineRequestKind",
    "PipelineRequestStatus", "PipelineSnapshot", "Role", "Setup", "SetupStatus", "SourceProvider",
    "StackEvent", "StackRecord", "StackRole", "User", "UserSession", "utcnow", "DEFAULT_TEAM", "Membership",
    "Team", "TeamRole",
]
