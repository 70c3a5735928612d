"""Throttling: a share of AWS calls fails with a throttle botocore recognises and retries."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import control


@pytest.mark.parametrize(("service", "call", "code"), [
    ("cloudformation", lambda c: c.list_stacks(), "Throttling"),
    ("sts", lambda c: c.get_caller_identity(), "Throttling"),
    ("kms", lambda c: c.list_keys(), "ThrottlingException"),
    ("codecommit", lambda c: c.get_repository(repositoryName="x"), "ThrottlingException"),
    ("s3", lambda c: c.list_buckets(), "SlowDown"),
])
def test_throttled_call_is_retried_by_botocore_then_surfaces(emulator, client, service, call, code):
    control(emulator, "throttle", {"fraction": 1.0})
    aws = client(service, retries=1)

    with pytest.raises(ClientError) as caught:
        call(aws)

    assert caught.value.response["Error"]["Code"] == code
    # botocore only retries errors it classifies as throttling.
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 1


def test_partial_throttling_is_absorbed_by_retries(emulator, client):
    control(emulator, "throttle", {"fraction": 0.25})
    sns = client("sns", retries=8)

    for index in range(10):
        sns.create_topic(Name=f"topic-{index}")

    control(emulator, "throttle", {"fraction": 0.0})
    assert len(sns.list_topics()["Topics"]) == 10


def test_control_api_is_never_throttled(emulator):
    control(emulator, "throttle", {"fraction": 1.0})

    for _ in range(5):
        assert control(emulator, "pace") == {"seconds": 0.0}
