"""What the worker last read of each applied setup's pipeline, and the release/retry/stop requests.

The portal never calls AWS: it shows the stored snapshot (with when it was read) and records
requests; the worker reads and acts. The approval token is a column of its own that no presenter
reads, so it never reaches a page or an API answer (the approval page's worker task uses it).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type, utcnow


class PipelineSnapshot(Base):
    """One pipeline's state as AWS last answered it; one row per setup."""

    __tablename__ = "pipeline_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    setup_id: Mapped[int] = mapped_column(ForeignKey("setups.id", ondelete="CASCADE"), unique=True)
    pipeline_name: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    # When AWS last answered; None until the first read succeeded: nothing is claimed before that.
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    # [{"name", "status", "execution_id", "actions": [{"name", "status", "started_at", "updated_at",
    #   "summary", "external_id", "external_url", "entity_url", "execution_id", "error": {...},
    #   "log_tail"?: {...} (a failed build's, worker/build_logs.py; docs/contracts.md)}]}]
    stages: Mapped[list[Any]] = mapped_column(default=list)
    # Newest first: [{"id", "status", "status_summary", "trigger", "trigger_detail", "started_at",
    #   "updated_at", "stop_reason", "revisions": [{"action", "commit_id", "message", "url"}]}]
    executions: Mapped[list[Any]] = mapped_column(default=list)
    # The manual approval waiting, without its token: {"execution_id", "stage", "action", "since",
    # "custom_data", "external_link"}; {} when none waits.
    approval: Mapped[dict[str, Any]] = mapped_column(default=dict)
    approval_token: Mapped[str] = mapped_column(String(256), default="")  # server-side only
    # An execution was in progress at the last read (its actions are then listed at every read).
    active: Mapped[bool] = mapped_column(default=False)
    # Bumped whenever what the snapshot shows changes: the live endpoint's ETag.
    version: Mapped[int] = mapped_column(default=0)
    # The last read's failure (throttled beyond botocore's retries, access denied), kept beside the
    # older snapshot, which stays shown "as of" its read_at.
    read_error: Mapped[str] = mapped_column(Text, default="")
    read_error_at: Mapped[datetime | None] = mapped_column(default=None)
    # Someone has a page of this pipeline open until then (the portal extends it; core/pipelines.py).
    watched_until: Mapped[datetime | None] = mapped_column(default=None)
    # When the worker reads next, and until when one worker holds the read (one read in flight).
    next_read_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PipelineRequestKind(enum.StrEnum):
    RELEASE = "release"  # StartPipelineExecution
    RETRY = "retry"  # RetryStageExecution, failed actions
    STOP = "stop"  # StopPipelineExecution with a reason


class PipelineRequestStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # AWS accepted it
    FAILED = "failed"  # AWS refused it (or it could not be sent); ``message`` says why


UNFINISHED_REQUEST = "status IN ('pending', 'running')"


class PipelineRequest(Base):
    """A person's request to start, retry or stop; the worker sends it to AWS once."""

    __tablename__ = "pipeline_requests"
    # One unfinished request of each kind per pipeline: a double click or two tabs cannot start two
    # releases; the portal answers the one already requested.
    __table_args__ = (Index("uq_pipeline_requests_one_unfinished", "setup_id", "kind", unique=True,
                            sqlite_where=text(UNFINISHED_REQUEST), postgresql_where=text(UNFINISHED_REQUEST)),)

    id: Mapped[int] = mapped_column(primary_key=True)
    setup_id: Mapped[int] = mapped_column(ForeignKey("setups.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PipelineRequestKind] = mapped_column(enum_type(PipelineRequestKind, 16))
    status: Mapped[PipelineRequestStatus] = mapped_column(enum_type(PipelineRequestStatus, 16),
                                                          default=PipelineRequestStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(100), default="")  # retry
    execution_id: Mapped[str] = mapped_column(String(100), default="")  # retry, stop; a release's new one
    reason: Mapped[str] = mapped_column(Text, default="")  # stop
    message: Mapped[str] = mapped_column(Text, default="")  # AWS's answer, or why it was refused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
