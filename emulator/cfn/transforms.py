"""Template transforms: ``AWS::Serverless-2016-10-31`` expanded by aws-sam-translator, as AWS does.

CloudFormation runs the SAM transform itself (it is a macro CloudFormation hosts) with the same
translator that is published as aws-sam-translator, so the processed template, its logical ids
and its error messages are the ones AWS produces. The translator needs no network here: the
region comes from the stack, and the managed-policy names SAM resolves come from moto's copy of
AWS's managed policies instead of a call to IAM.

Which requests may use a transform (the Capabilities documentation of CreateStack, UpdateStack
and CreateChangeSet): a change set processes it without any acknowledgement; CreateStack and
UpdateStack process it only with ``CAPABILITY_AUTO_EXPAND``.
"""
from __future__ import annotations

import copy
import json
import logging
from typing import Any

import boto3
from moto.cloudformation.exceptions import ValidationError
from moto.utilities.utils import get_partition

from emulator.cfn.resources import aws_managed
from emulator.cfn.templates import InsufficientCapabilitiesError

logger = logging.getLogger(__name__)

SERVERLESS = "AWS::Serverless-2016-10-31"
AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"


class TransformError(Exception):
    """A transform refused the template; ``reason`` is the change set's StatusReason on AWS."""

    def __init__(self, name: str, message: str) -> None:
        self.reason = f"Transform {name} failed with: {message}"
        super().__init__(self.reason)


def transform_names(template: dict[str, Any]) -> list[str]:
    """The template-level transforms, in the order CloudFormation applies them."""
    value = template.get("Transform")
    if value is None:
        return []
    names = value if isinstance(value, list) else [value]
    # A transform with parameters is {"Name": ..., "Parameters": ...} (AWS::Include's form).
    return [n["Name"] if isinstance(n, dict) else str(n) for n in names]


def require_auto_expand(template: dict[str, Any], capabilities: list[str]) -> None:
    """CreateStack/UpdateStack may process transforms only when told to.

    :raise InsufficientCapabilitiesError: "Requires capabilities : [CAPABILITY_AUTO_EXPAND]".
    """
    if transform_names(template) and AUTO_EXPAND not in capabilities:
        raise InsufficientCapabilitiesError(f"Requires capabilities : [{AUTO_EXPAND}]")


def _serverless(template: dict[str, Any], parameters: dict[str, Any], account_id: str,
                region: str) -> dict[str, Any]:
    # Imported here: the translator is heavy and only SAM templates need it.
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    partition = get_partition(region)
    # The session only tells the translator its region; nothing calls AWS through it.
    session = boto3.session.Session(region_name=region, aws_access_key_id="emulator",
                                    aws_secret_access_key="emulator")
    values = {**{k: v for k, v in parameters.items()}, "AWS::Region": region,
              "AWS::AccountId": account_id, "AWS::Partition": partition}
    # The translator's metrics go nowhere; published, they do not warn when dropped.
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
    try:
        return translator.translate(copy.deepcopy(template), parameter_values=values,
                                    get_managed_policy_map=lambda: aws_managed.policy_map(partition))
    except InvalidDocumentException as err:
        # AWS's reason is the translator's summary followed by each error it found.
        raise TransformError(SERVERLESS, " ".join([err.message, *(c.message for c in err.causes)])) from err
    finally:
        metrics.publish()


def expand(template: dict[str, Any], parameters: dict[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """The processed template: every template-level transform applied.

    :raise TransformError: when the transform refuses the template (AWS's wording).
    :raise ValidationError: for a transform the emulator does not run.
    """
    processed = template
    for name in transform_names(template):
        if name != SERVERLESS:
            raise ValidationError(message=(
                f"Template format error: the emulator does not run the transform {name} "
                f"(only {SERVERLESS})"))
        processed = _serverless(processed, parameters, account_id, region)
        logger.info("%s expanded %d resources into %d (%s, %s)", name, len(template.get("Resources") or {}),
                    len(processed.get("Resources") or {}), account_id, region)
    return processed


def processed_body(template: dict[str, Any]) -> str:
    """A processed template as CloudFormation returns it: JSON."""
    return json.dumps(template, indent=2)
