"""What CodeCommit tells EventBridge after a ref changes: "CodeCommit Repository State Change".

The event goes to every matching rule of the repository account's default bus, delivered by
moto to the targets moto can reach (SQS, CloudWatch Logs, another bus), as on AWS. moto refuses
the other target types outright, which would fail the push, so they are left out here: a
CodePipeline target because ``emulator.codepipeline.triggers`` starts the watching pipelines
itself; any other (Lambda, SNS, ...) is not emulated and is logged.
"""
from __future__ import annotations

import copy
import logging

from moto.core.utils import unix_time
from moto.events.models import events_backends
from moto.moto_api._internal import mock_random

from emulator.codecommit.lookup import Located
from emulator.codecommit.repos import ZERO_ID

logger = logging.getLogger(__name__)

DELIVERED_SERVICES = ("sqs", "logs", "events")  # the target services moto's Rule.send_to_targets serves
SOURCE = "aws.codecommit"
DETAIL_TYPE = "CodeCommit Repository State Change"


def reference_event(repository: Located, ref: str, old: str | None, new: str | None) -> dict[str, object]:
    """The event's ``detail`` for one ref going from ``old`` to ``new`` (None: absent)."""
    kind, _, short = ref.removeprefix("refs/").partition("/")
    detail: dict[str, object] = {
        "event": "referenceCreated" if not old or old == ZERO_ID else (
            "referenceDeleted" if not new or new == ZERO_ID else "referenceUpdated"),
        "repositoryName": repository.name,
        "repositoryId": repository.metadata["repositoryId"],
        "referenceType": "branch" if kind == "heads" else "tag",
        "referenceName": short,
        "referenceFullName": ref,
        # git's smart HTTP carries no AWS identity offline: the account itself stands for the caller.
        "callerUserArn": f"arn:aws:iam::{repository.account_id}:root",
    }
    if new and new != ZERO_ID:
        detail["commitId"] = new
    if old and old != ZERO_ID:
        detail["oldCommitId"] = old
    return detail


def event_message(repository: Located, detail: dict[str, object]) -> dict[str, object]:
    """The whole event, in moto's internal form (times in epoch seconds; its delivery formats them)."""
    now = unix_time()
    return {
        "version": "0", "id": str(mock_random.uuid4()), "detail-type": DETAIL_TYPE, "source": SOURCE,
        "account": repository.account_id, "time": now, "region": repository.region,
        "resources": [repository.metadata["Arn"]], "detail": detail, "ingestion-time": now,
    }


def emit(repository: Located, ref: str, old: str | None, new: str | None) -> int:
    """Deliver the state-change event of one ref to the matching rules; return how many matched."""
    detail = reference_event(repository, ref, old, new)
    message = event_message(repository, detail)
    bus = events_backends[repository.account_id][repository.region].describe_event_bus("default")
    matched = 0
    for rule in list(bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(message):
            continue
        matched += 1
        delivered = [t for t in rule.targets if t["Arn"].split(":")[2] in DELIVERED_SERVICES]
        for target in rule.targets:
            service = target["Arn"].split(":")[2]
            if service not in DELIVERED_SERVICES and service != "codepipeline":
                logger.info("rule %s: target %s is not emulated; event not delivered to it", rule.name, target["Arn"])
        if delivered:
            reachable = copy.copy(rule)  # the same rule with only the targets moto delivers to
            reachable.targets = delivered
            reachable.send_to_targets(copy.deepcopy(message))
    logger.info("%s %s %s on %s in %s %s: %d rule(s) matched", DETAIL_TYPE, detail["event"], ref,
                repository.name, repository.account_id, repository.region, matched)
    return matched
