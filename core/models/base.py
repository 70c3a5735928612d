"""Declarative base and column helpers shared by every model."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
UTCDateTime = DateTime(timezone=True)


def enum_type(members: type[enum.StrEnum], length: int) -> Enum:
    """A VARCHAR(``length``) of ``members``' values, read back as members.

    No database enum type and no CHECK constraint: the schema stays what the migrations made (plain
    VARCHARs, on SQLite and PostgreSQL alike), so a new member needs no migration. A value outside
    ``members`` fails loudly all the same, in Python: LookupError when it is written (the strings
    are validated too) and when a row holding one is read.
    """
    return Enum(members, native_enum=False, create_constraint=False, length=length, validate_strings=True,
                values_callable=lambda e: [m.value for m in e])


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, datetime: UTCDateTime}
