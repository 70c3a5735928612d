"""Evaluate a CloudFormation template for concrete parameter values, the way a stack would.

The structural tests read templates as written; these helpers answer "what would this stack
contain for these parameters?" so tests can check behaviour the text alone does not show: a
parameter value CloudFormation rejects, a Rules assertion that fails, a policy that lists the same
principal twice when every account is the same account, names that collide between stacks.

Only what the project's templates use is implemented; anything else raises NotImplementedError
so a template change cannot silently be evaluated wrongly.
"""
from __future__ import annotations

import re
from functools import cached_property
from typing import Any

NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackName", "AWS::URLSuffix")


class ParameterError(ValueError):
    """A parameter value CloudFormation would reject before creating anything."""


class RuleError(ValueError):
    """A Rules assertion that fails for the given parameter values."""


# Ref of a resource: the property holding the physical name CloudFormation returns, if any.
_REF_NAME_PROPERTY = {
    "AWS::IAM::Role": "RoleName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::CodeCommit::Repository": "RepositoryName",
    "AWS::CodeBuild::Project": "Name",
    "AWS::CodePipeline::Pipeline": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
}


class RenderedStack:
    """One template evaluated for one account, region and set of parameter values."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        *,
        account_id: str,
        region: str = "eu-west-1",
        stack_name: str = "stack",
    ) -> None:
        self.template = template
        self.account_id = account_id
        self.region = region
        self.partition = "aws"
        self.pseudo = {
            "AWS::AccountId": account_id,
            "AWS::Region": region,
            "AWS::Partition": self.partition,
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.parameters = self._validated_parameters(parameters)
        self._conditions: dict[str, bool] = {}
        self._check_rules()

    # ------------------------------------------------------------ parameters, rules, conditions
    def _validated_parameters(self, given: dict[str, str]) -> dict[str, str]:
        declared = self.template.get("Parameters", {})
        unknown = set(given) - set(declared)
        if unknown:
            raise ParameterError(f"parameters not declared by the template: {sorted(unknown)}")
        values = {}
        for name, spec in declared.items():
            if name in given:
                value = given[name]
            elif "Default" in spec:
                value = str(spec["Default"])
            else:
                raise ParameterError(f"parameter {name} needs a value")
            values[name] = value
            self._check_constraints(name, spec, value)
        return values

    @staticmethod
    def _check_constraints(name: str, spec: dict[str, Any], value: str) -> None:
        message = spec.get("ConstraintDescription", "")
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            raise ParameterError(f"{name}={value!r}: not one of {spec['AllowedValues']}")
        # CloudFormation matches AllowedPattern against the whole value (Java String.matches).
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            raise ParameterError(f"{name}={value!r}: {message}")
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            raise ParameterError(f"{name}={value!r}: {message}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            raise ParameterError(f"{name}={value!r}: {message}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise ParameterError(f"{name}={value!r}: not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise ParameterError(f"{name}={value!r}: below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise ParameterError(f"{name}={value!r}: above MaxValue {spec['MaxValue']}")

    def _check_rules(self) -> None:
        for rule_name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.value(assertion["Assert"]):
                    raise RuleError(f"{rule_name}: {assertion.get('AssertDescription', '')}")

    def condition(self, name: str) -> bool:
        """The value of the template's condition ``name`` for these parameters."""
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    # ------------------------------------------------------------ resources and outputs
    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Logical id -> {"Type", "Properties"} of every resource the stack would create."""
        rendered = {}
        for logical_id, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            rendered[logical_id] = {
                "Type": resource["Type"],
                "Properties": self.value(resource.get("Properties", {})),
            }
        return rendered

    @cached_property
    def outputs(self) -> dict[str, Any]:
        """Output name -> value of every output the stack would have."""
        rendered = {}
        for name, output in self.template.get("Outputs", {}).items():
            if "Condition" in output and not self.condition(output["Condition"]):
                continue
            rendered[name] = self.value(output["Value"])
        return rendered

    def physical_name(self, logical_id: str) -> str:
        """What Ref returns for a resource: its declared name, else a stand-in for a generated one."""
        resource = self.template["Resources"][logical_id]
        name_property = _REF_NAME_PROPERTY.get(resource["Type"])
        declared = resource.get("Properties", {}).get(name_property) if name_property else None
        if declared is not None:
            return self.value(declared)
        if resource["Type"] == "AWS::SNS::Topic":
            return self.attribute(logical_id, "TopicArn")
        if resource["Type"] == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self._queue_name(logical_id)}"
        return f"{self.pseudo['AWS::StackName']}-{logical_id}-GENERATED"

    def _queue_name(self, logical_id: str) -> str:
        declared = self.template["Resources"][logical_id].get("Properties", {}).get("QueueName")
        return self.value(declared) if declared is not None else f"{self.pseudo['AWS::StackName']}-{logical_id}-GENERATED"

    def _rule_arn(self, logical_id: str) -> str:
        bus = self.template["Resources"][logical_id].get("Properties", {}).get("EventBusName")
        bus_name = self.value(bus) if bus is not None else "default"
        path = "" if bus_name == "default" else f"{bus_name}/"
        return f"arn:{self.partition}:events:{self.region}:{self.account_id}:rule/{path}{self.physical_name(logical_id)}"

    def attribute(self, logical_id: str, name: str) -> str:
        """Fn::GetAtt for the attributes the templates use."""
        kind = self.template["Resources"][logical_id]["Type"]
        arn = f"arn:{self.partition}"
        region, account = self.region, self.account_id
        known = {
            ("AWS::IAM::Role", "Arn"): lambda: f"{arn}:iam::{account}:role/{self.physical_name(logical_id)}",
            ("AWS::S3::Bucket", "Arn"): lambda: f"{arn}:s3:::{self.physical_name(logical_id)}",
            ("AWS::KMS::Key", "Arn"): lambda: f"{arn}:kms:{region}:{account}:key/{logical_id}-KEY-ID",
            ("AWS::SNS::Topic", "TopicArn"): lambda: f"{arn}:sns:{region}:{account}:"
            + self.value(self.template["Resources"][logical_id]["Properties"].get("TopicName", logical_id)),
            ("AWS::CodeBuild::Project", "Arn"): lambda: f"{arn}:codebuild:{region}:{account}:project/{self.physical_name(logical_id)}",
            ("AWS::CodeCommit::Repository", "Arn"): lambda: f"{arn}:codecommit:{region}:{account}:{self.physical_name(logical_id)}",
            ("AWS::CodeCommit::Repository", "Name"): lambda: self.physical_name(logical_id),
            ("AWS::CodeCommit::Repository", "CloneUrlHttp"): lambda: f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{self.physical_name(logical_id)}",
            ("AWS::CodeCommit::Repository", "CloneUrlSsh"): lambda: f"ssh://git-codecommit.{region}.amazonaws.com/v1/repos/{self.physical_name(logical_id)}",
            ("AWS::Events::EventBus", "Arn"): lambda: f"{arn}:events:{region}:{account}:event-bus/{self.physical_name(logical_id)}",
            ("AWS::Events::Rule", "Arn"): lambda: self._rule_arn(logical_id),
            ("AWS::SQS::Queue", "Arn"): lambda: f"{arn}:sqs:{region}:{account}:{self._queue_name(logical_id)}",
            ("AWS::Logs::LogGroup", "Arn"): lambda: f"{arn}:logs:{region}:{account}:log-group:{self.physical_name(logical_id)}:*",
        }
        if (kind, name) not in known:
            raise NotImplementedError(f"Fn::GetAtt {kind}.{name}")
        return known[(kind, name)]()

    # ------------------------------------------------------------ intrinsic functions
    def value(self, node: Any) -> Any:
        """Evaluate ``node``: intrinsic functions resolved, AWS::NoValue removed."""
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument)
        items = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def _function(self, key: str, argument: Any) -> Any:  # noqa: PLR0911 - one branch per function
        if key == "Ref":
            return self._ref(argument)
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::If":
            condition, when_true, when_false = argument
            return self.value(when_true if self.condition(condition) else when_false)
        if key == "Fn::Equals":
            left, right = (self.value(item) for item in argument)
            return left == right
        if key == "Fn::Not":
            return not self.value(argument[0])
        if key == "Fn::And":
            return all(self.value(item) for item in argument)
        if key == "Fn::Or":
            return any(self.value(item) for item in argument)
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.attribute(logical_id, attribute)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.value(items))
        if key == "Fn::Select":
            index, items = argument
            return self.value(items)[int(self.value(index))]
        if key == "Fn::Split":
            separator, text = argument
            return self.value(text).split(separator)
        raise NotImplementedError(key)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template["Resources"]:
            return self.physical_name(name)
        raise KeyError(f"Ref to unknown name {name}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: self.value(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                return self.attribute(*name.split(".", 1))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)
