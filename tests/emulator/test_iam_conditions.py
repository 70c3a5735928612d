"""Condition operators shared by the trust-policy and bucket-policy checks."""
from __future__ import annotations

import pytest

from emulator.iam_conditions import condition_matches, policy_values

ROLE = "arn:aws:iam::111111111111:role/orders-api-pipeline-role"


@pytest.mark.parametrize(("operator", "actual", "expected", "result"), [
    ("StringEquals", "a", ["b", "a"], True),  # any listed value suffices
    ("StringNotEquals", "a", ["b", "a"], False),  # none may match
    ("StringEqualsIgnoreCase", "ABC", ["abc"], True),
    ("StringLike", "orders-api-build", ["orders-*"], True),
    ("Bool", "true", ["True"], True),
    ("ArnEquals", ROLE, [ROLE], True),
    ("ArnLike", ROLE, ["arn:aws:iam::*:role/orders-*"], True),
    ("ArnLike", ROLE, ["arn:aws:*"], False),  # a wildcard never spans the ARN's fields
    ("StringEquals", None, ["a"], False),  # an absent key fails a condition...
    ("StringNotEquals", None, ["a"], True),  # ...except a negated one,
    ("StringEqualsIfExists", None, ["a"], True),  # an ...IfExists one,
    ("ForAllValues:StringEquals", None, ["a"], True),  # and ForAllValues over no values
    ("ForAnyValue:StringEquals", None, ["a"], False),
    ("ForAnyValue:StringEquals", "a", ["a"], True),
    ("Null", None, ["true"], True),
    ("Null", "x", ["true"], False),
    ("Null", "x", ["false"], True),
])
def test_operator_evaluation_follows_iam(operator, actual, expected, result):
    assert condition_matches(operator, actual, expected) is result


@pytest.mark.parametrize("operator", ["NumericLessThan", "DateGreaterThan", "IpAddress", "NotIpAddress",
                                      "BinaryEquals", "Sometimes:StringEquals"])
def test_operators_the_emulator_does_not_implement_are_reported_not_guessed(operator):
    assert condition_matches(operator, "1", ["1"]) is None


def test_json_booleans_read_as_iam_writes_them():
    assert policy_values(False) == ["false"]
    assert policy_values(["a", True]) == ["a", "true"]
