"""Every template parameter the portal fills from a setup accepts what the portal's rule accepts.

For each one, hypothesis generates values for the setup field; the portal's rule (core.validation)
decides, the worker turns the setup into the parameter (worker/stackspec.py, as it does when it plans),
and the template's own constraint (AllowedPattern as a full match, AllowedValues, Min/MaxLength,
Min/MaxValue, as CloudFormation applies them) decides again. What the portal accepts, the template
must accept, or the plan fails after the portal said yes. Where the template can state the portal's
whole rule, the two must agree exactly; the others say why they cannot.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import validation as v
from core.models import Setup
from core.regions import pipeline_regions
from worker import stackspec

from .cfn_render import ParameterError, RenderedStack
from .cfn_yaml import load_template
from .repo_layout import BUILD_PIPELINE, DEPLOY_DEPENDENCIES, SAM_TEMPLATE, cfn_templates

BUILD, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"
CONNECTION = f"arn:aws:codeconnections:eu-west-1:{BUILD}:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
BASE: dict[str, Any] = {
    "name": "orders-api", "build_account_id": BUILD, "staging_account_id": STAGING,
    "production_account_id": PRODUCTION, "region": "eu-west-1", "branch": "main", "source_provider": "CodeCommit",
    "connection_arn": "", "full_repository_id": "", "approval_email": "", "tags": {}, "access": {},
    "stage_parameters": {stage: dict(v.STAGE_PARAMETER_DEFAULTS) for stage in v.STAGES},
}
GITHUB = {"source_provider": "GitHub", "connection_arn": CONNECTION, "full_repository_id": "octo-org/orders-api"}


def tokens(*parts: str, max_size: int = 12) -> st.SearchStrategy[str]:
    """Text joined from ``parts``: the characters and pieces a rule cares about, in any order."""
    return st.lists(st.sampled_from(parts), max_size=max_size).map("".join)


def values(*strategies: st.SearchStrategy, max_size: int = 40) -> st.SearchStrategy:
    """The field's interesting values, and arbitrary text (no lone surrogates: no API call carries them)."""
    return st.one_of(*strategies, st.text(max_size=max_size))


@dataclass(frozen=True)
class Filled:
    """A template parameter the worker fills from a setup field that the portal's rule checks."""

    template: str  # "deploy", "build" or "sam"
    parameter: str
    column: str  # the setup field, or "stage_parameters.<Name>" for a parameter of both stages
    check: Callable[[Any], Any]
    values: st.SearchStrategy
    exact: str = ""  # empty: the two must agree both ways; else why the template accepts more
    setup: dict[str, Any] = field(default_factory=dict)
    stored: Callable[[Any, Any], Any] = lambda raw, checked: checked  # what the portal saves

    @property
    def id(self) -> str:
        return f"{self.template}-{self.parameter}-{self.column}"


BRANCHES = values(
    tokens("a", "Z", "9", "/", ".", "-", "_", "@", "{", "}", "~", "^", ":", "?", "*", "[", "\\", " ", "\t", "\x7f",
           "\x85", "ü", "😀", "lock", ".lock", "HEAD", "..", "//", "@{", "é", ","),
    st.integers(250, 260).map(lambda n: "b" * n),
)
NAMES = values(tokens("a", "z", "0", "9", "-", "--", "A", "_", max_size=30))
ACCOUNTS = values(st.from_regex(r"[0-9]{12}", fullmatch=True), st.from_regex(r"[0-9]{4}-[0-9]{4}-[0-9]{4}", fullmatch=True),
                  tokens("1", "0", "-", " ", "٣", "x", max_size=16))
REGIONS = values(st.sampled_from([region.name for region in pipeline_regions()]),
                 tokens("eu", "us", "-", "west", "gov", "1", "9", "X", max_size=6))
CONNECTIONS = values(st.just(CONNECTION), st.builds(
    "arn:aws:{}:{}:{}:connection/{}".format,
    st.sampled_from(["codeconnections", "codestar-connections", "codebuild"]),
    st.sampled_from([region.name for region in pipeline_regions()] + ["xx-nowhere-1"]),
    st.sampled_from([BUILD, "12345", "1111-1111-1111"]),
    st.one_of(st.uuids().map(str), tokens("a", "F", "0", "-", "_"))))
REPOSITORIES = values(tokens("a", "Z", "9", "-", "--", "_", ".", "/", "ü", " ", max_size=16),
                      st.integers(98, 102).map(lambda n: "o/" + "r" * n), st.integers(38, 41).map(lambda n: "o" * n + "/r"))
EMAILS = values(tokens("a", "@", ".", " ", "b", "ü", "example", "com", '"', "-", "+", max_size=10))
GREETINGS = values(st.text(min_size=60, max_size=70), tokens("Hi", " ", "\n", "\x00", '"', "\\", "😀", "é"),
                   max_size=70)
NUMBERS = st.one_of(st.integers(-10, 12000), st.integers(-10, 12000).map(str), tokens("1", "2", "8", "0", ".", "-", " ", "e"),
                    st.sampled_from(v.LOG_RETENTION_DAYS), st.sampled_from(v.LOG_RETENTION_DAYS).map(str), st.booleans())

ONLY_HERE = "the portal alone knows "
FILLED = [
    Filled("deploy", "ApplicationName", "name", v.check_application_name, NAMES),
    Filled("build", "ApplicationName", "name", v.check_application_name, NAMES),
    Filled("deploy", "BuildAccountId", "build_account_id", v.check_account_id, ACCOUNTS),
    Filled("build", "StagingAccountId", "staging_account_id", v.check_account_id, ACCOUNTS),
    Filled("build", "ProductionAccountId", "production_account_id", v.check_account_id, ACCOUNTS),
    Filled("deploy", "BuildRegion", "region", v.check_region, REGIONS,
           exact=ONLY_HERE + "the regions where CodePipeline and CloudFormation run; the template checks the shape"),
    # Empty is no branch: the wizard requires one, and the worker falls back to main for an old setup.
    Filled("build", "BranchName", "branch", v.check_branch, BRANCHES.filter(bool)),
    Filled("build", "SourceProvider", "source_provider", v.check_source_provider,
           values(st.sampled_from(["CodeCommit", "GitHub", "codecommit", "Bitbucket"]))),
    Filled("build", "ConnectionArn", "connection_arn", v.check_connection_arn, CONNECTIONS, setup=GITHUB,
           exact=ONLY_HERE + "the regions where CodePipeline runs", stored=lambda raw, checked: raw),
    Filled("build", "FullRepositoryId", "full_repository_id", v.check_repository_id,
           REPOSITORIES.filter(bool), setup=GITHUB),  # empty means "not GitHub": the template's Rules refuse it
    Filled("build", "ApprovalEmail", "approval_email", v.check_approval_email, EMAILS,
           exact="an e-mail address's syntax (email_validator) is more than a pattern can say"),
    Filled("build", "StagingDeployRoleArn", "name", v.check_application_name, NAMES,
           exact="the ARN is built from a checked name: only what the portal accepts gets there"),
    Filled("build", "ProductionExecutionRoleArn", "production_account_id", v.check_account_id, ACCOUNTS,
           exact="the ARN is built from a checked account id: only what the portal accepts gets there"),
    Filled("build", "StagingParameterOverrides", "stage_parameters.Greeting", v.check_greeting, GREETINGS,
           exact="the overrides are built from checked values: only what the portal accepts gets there"),
    Filled("build", "ProductionParameterOverrides", "stage_parameters.MemorySize", v.check_memory_size, NUMBERS,
           exact="the overrides are built from checked values: only what the portal accepts gets there"),
    Filled("sam", "Greeting", "stage_parameters.Greeting", v.check_greeting, GREETINGS,
           exact="the template has no pattern; the portal also refuses control characters"),
    Filled("sam", "LogLevel", "stage_parameters.LogLevel", v.check_log_level,
           values(st.sampled_from([*v.LOG_LEVELS, "info", "TRACE", ""]))),
    Filled("sam", "MemorySize", "stage_parameters.MemorySize", v.check_memory_size, NUMBERS,
           exact="a Number parameter cannot require a whole number (128.5 passes it, and Lambda refuses it)"),
    Filled("sam", "LogRetentionInDays", "stage_parameters.LogRetentionInDays", v.check_log_retention, NUMBERS),
]
TEMPLATES = {"deploy": DEPLOY_DEPENDENCIES, "build": BUILD_PIPELINE, "sam": SAM_TEMPLATE}


@cache
def template_parameters(template: str) -> dict[str, Any]:
    return load_template(TEMPLATES[template])["Parameters"]


def setup_with(filled: Filled, value: Any) -> Setup:
    fields = {**BASE, **filled.setup}
    if filled.column.startswith("stage_parameters."):
        name = filled.column.split(".", 1)[1]
        fields["stage_parameters"] = {stage: {**values_, name: value}
                                      for stage, values_ in fields["stage_parameters"].items()}
    else:
        fields[filled.column] = value
    return Setup(**fields)


def parameter_value(filled: Filled, setup: Setup) -> str:
    """The parameter's value as the worker passes it to CloudFormation (or the pipeline to SAM)."""
    if filled.template == "deploy":
        return stackspec.deploy_parameters(setup)[filled.parameter]
    if filled.template == "build":
        return stackspec.build_parameters(setup, "aws")[filled.parameter]
    return json.loads(stackspec.stage_parameter_overrides(setup, "staging"))[filled.parameter]


def template_accepts(filled: Filled, value: str) -> bool:
    spec = template_parameters(filled.template)[filled.parameter]
    try:
        RenderedStack._check_constraints(filled.parameter, spec, value)  # noqa: SLF001 - CloudFormation's checks
    except ParameterError:
        return False
    return True


def portal_verdict(filled: Filled, raw: Any) -> tuple[bool, Any]:
    try:
        return True, filled.stored(raw, filled.check(raw))
    except v.InvalidValue:
        return False, raw


@pytest.mark.parametrize("filled", FILLED, ids=[filled.id for filled in FILLED])
def test_the_template_accepts_what_the_portal_accepts(filled):
    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(raw=filled.values)
    def check(raw):
        accepted, stored = portal_verdict(filled, raw)
        if not accepted and filled.exact:
            return  # only what the portal accepts reaches this parameter
        value = parameter_value(filled, setup_with(filled, stored))
        assert template_accepts(filled, value) == accepted, (
            f"{filled.column}={raw!r}: the portal {'accepts' if accepted else 'refuses'} it, "
            f"the template's {filled.parameter} gets {value!r} and {'refuses' if accepted else 'accepts'} it")

    check()


@pytest.mark.parametrize("raw, accepted", [
    ("main", True), ("feature/login", True), ("users/ann/fix_1", True), ("ünïcode", True), ("release-1.2", True),
    ("b" * 255, True), ("b" * 256, False), ("a..b", False), ("-x", False), ("a/", False), ("HEAD", False),
    ("x.lock", False), ("a/.b", False), ("a b", False), ("a{b,c}", False), ("a\x85b", False),
])
def test_branch_examples_agree(raw, accepted):
    filled = next(f for f in FILLED if f.parameter == "BranchName")
    assert portal_verdict(filled, raw)[0] is accepted
    assert template_accepts(filled, raw) is accepted


def test_every_region_the_portal_offers_fits_the_template():
    filled = next(f for f in FILLED if f.parameter == "BuildRegion")
    assert all(template_accepts(filled, region.name) for region in pipeline_regions())


def test_every_parameter_filled_from_a_setup_is_compared():
    """A parameter the worker fills from a setup and this test does not compare would escape it."""
    from_config = {"PortalUrl"}  # the worker's own setting (PORTAL_PUBLIC_URL), not a setup field
    setup = Setup(**{**BASE, **GITHUB})
    filled = {("deploy", name) for name in stackspec.deploy_parameters(setup)}
    filled |= {("build", name) for name in stackspec.build_parameters(setup, "aws") if name not in from_config}
    filled |= {("sam", name) for name in json.loads(stackspec.stage_parameter_overrides(setup, "staging"))}
    role_arns = {("build", f"{stage}{kind}RoleArn") for stage in ("Staging", "Production")
                 for kind in ("Deploy", "Execution")}
    compared = {(f.template, f.parameter) for f in FILLED}
    # The four role ARNs are built the same way; two of them stand for all four.
    assert filled - role_arns == compared - role_arns
    assert {path.name for path in cfn_templates()} == {DEPLOY_DEPENDENCIES.name, BUILD_PIPELINE.name}


@pytest.mark.parametrize("filled", [f for f in FILLED if not f.exact], ids=lambda f: f.id)
def test_an_exact_parameter_is_constrained_in_the_template(filled):
    spec = template_parameters(filled.template)[filled.parameter]
    assert {"AllowedPattern", "AllowedValues"} & set(spec), f"{filled.parameter} accepts any text"


@pytest.mark.parametrize("filled", FILLED, ids=[filled.id for filled in FILLED])
@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\x00"], ids=["high-surrogate", "low-surrogate", "nul"])
def test_text_no_api_call_can_carry_never_reaches_a_template(filled, bad):
    """The generators leave lone surrogates out (boto3 cannot encode them): every rule refuses them, and NUL."""
    assert portal_verdict(filled, "main" + bad)[0] is False
