"""IAM policy matching shared by the emulator's policy checks: wildcards, ARNs, condition operators.

Role trust policies (``emulator.sts``) and S3 bucket policies (``emulator.s3policy``) both use
these; each decides for itself what a condition the emulator cannot evaluate means.
"""
from __future__ import annotations

import re
from typing import Any, Callable

# The keys of the emulator's request contexts are single-valued, so the set operators reduce
# to a plain comparison once a value is present; they differ only when the key is absent.
SET_PREFIXES = ("ForAnyValue", "ForAllValues")

_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda actual, value: actual == value,
    "StringEqualsIgnoreCase": lambda actual, value: actual.lower() == value.lower(),
    "StringLike": lambda actual, value: glob(value, actual),
    "ArnEquals": lambda actual, value: arn_like(actual, value),
    "ArnLike": lambda actual, value: arn_like(actual, value),
    "Bool": lambda actual, value: actual.lower() == value.lower(),
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_values(expected: Any) -> list[str]:
    """A condition's listed values as strings; JSON booleans read as IAM writes them ("true")."""
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]


def glob(pattern: str, value: str) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def arn_like(actual: str, pattern: str) -> bool:
    # ARNs compare field by field, so a wildcard never spans the ':' separators of the first five.
    actual_parts, pattern_parts = actual.split(":", 5), pattern.split(":", 5)
    if len(actual_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(glob(p, a) for p, a in zip(pattern_parts, actual_parts))


def condition_matches(operator: str, actual: str | None, expected: list[str]) -> bool | None:
    """Whether one condition key holds: any one listed value suffices (none, for a Not operator).

    ``actual`` is None when the key is absent from the request. Returns None for an operator
    the emulator does not implement, so the caller decides what that means for its policy.
    """
    prefix, _, name = operator.rpartition(":")
    if prefix and prefix not in SET_PREFIXES:
        return None
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    negated = "Not" in name
    test = _TESTS.get(name.replace("Not", ""))
    if test is None:
        return None
    if actual is None:
        # AWS: an absent key fails a condition, except a negated one, an ...IfExists one, and
        # ForAllValues (true over the empty set).
        return if_exists or negated or prefix == "ForAllValues"
    matched = any(test(actual, value) for value in expected)
    return not matched if negated else matched
