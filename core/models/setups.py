"""A setup: everything the wizard collects for one application's pipeline."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type, utcnow
from core.models.teams import DEFAULT_TEAM, Team


class SetupStatus(enum.StrEnum):
    DRAFT = "draft"  # the wizard is not finished; fields may be missing
    READY = "ready"  # every step validated; a plan may be requested


class SourceProvider(enum.StrEnum):
    CODECOMMIT = "CodeCommit"
    GITHUB = "GitHub"


class AccessMethod(enum.StrEnum):
    ASSUME_ROLE = "assume_role"
    SELF_LAUNCH = "self_launch"  # the account's admin launches the stack from a quick-create link


class Setup(Base):
    __tablename__ = "setups"
    # NULLs are distinct, so drafts without accounts do not collide.
    __table_args__ = (UniqueConstraint("build_account_id", "region", "name", name="uq_setups_build_region_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(24), default=None)  # the application name
    build_account_id: Mapped[str | None] = mapped_column(String(12), default=None)
    staging_account_id: Mapped[str | None] = mapped_column(String(12), default=None)
    production_account_id: Mapped[str | None] = mapped_column(String(12), default=None)
    region: Mapped[str | None] = mapped_column(String(32), default=None)
    branch: Mapped[str] = mapped_column(String(255), default="main")
    source_provider: Mapped[SourceProvider] = mapped_column(enum_type(SourceProvider, 16),
                                                            default=SourceProvider.CODECOMMIT)
    connection_arn: Mapped[str] = mapped_column(String(255), default="")
    full_repository_id: Mapped[str] = mapped_column(String(255), default="")  # owner/repo for GitHub
    approval_email: Mapped[str] = mapped_column(String(254), default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"staging": {"Param": "value"}, "production": {...}}: the sample app's template parameters.
    stage_parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"<account id>": {"method": "assume_role"|"self_launch", "role_name": ..., "external_id": ...}}
    access: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Production needs two distinct approvers: the first approval is recorded, the second sends it.
    two_person_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    wizard_step: Mapped[str] = mapped_column(String(16), default="accounts")
    status: Mapped[SetupStatus] = mapped_column(enum_type(SetupStatus, 16), default=SetupStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # The team that owns it (core/teams.py says who may do what). The portal always names one; a row
    # written without one (code that predates teams) belongs to the default team.
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True,
                                         default=select(Team.id).where(Team.name == DEFAULT_TEAM).scalar_subquery())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: two editors cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    def distinct_accounts(self) -> list[str]:
        """Return the setup's account ids, each once, build account first."""
        ordered = [self.build_account_id, self.staging_account_id, self.production_account_id]
        return list(dict.fromkeys(a for a in ordered if a))

    def deploy_accounts(self) -> list[str]:
        """Return the distinct deploy (staging, production) accounts."""
        ordered = [self.staging_account_id, self.production_account_id]
        return list(dict.fromkeys(a for a in ordered if a))
