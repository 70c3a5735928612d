"""cfn-lint, used as a library, finds nothing wrong with any template of the project."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint

from .repo_layout import CFN_DIR, REPO_ROOT, SAM_TEMPLATE, cfn_templates

# The pipeline's home regions in practice; CodeCommit and CodeBuild are missing from a few
# newer regions, which cfn-lint (rightly) reports for a template linted there.
LINT_REGIONS = ["us-east-1", "eu-west-1"]


def lint_targets() -> list[Path]:
    """templates_cfn/ plus the sample application's SAM template once it exists."""
    targets = cfn_templates()
    if SAM_TEMPLATE.exists():
        targets.append(SAM_TEMPLATE)
    return targets


def describe(match) -> str:
    return f"{match.rule.id} line {match.linenumber}: {match.message}"


def test_templates_cfn_holds_both_templates():
    names = {path.name for path in cfn_templates()}
    assert {"deploy-dependencies.yaml", "build-pipeline.yaml"} <= names


@pytest.mark.parametrize("path", lint_targets(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_template_passes_cfn_lint(path):
    matches = lint(path.read_text(encoding="utf-8"), config=ManualArgs(regions=LINT_REGIONS))
    errors = [describe(match) for match in matches if match.rule.severity == "error"]
    found_warnings = [describe(match) for match in matches if match.rule.severity == "warning"]
    assert errors == []
    if path.parent == CFN_DIR:
        # Our own templates are kept warning-free; a justified exception is declared in the
        # template's Metadata (cfn-lint ignore_checks), next to the reason.
        assert found_warnings == []
    for message in found_warnings:
        warnings.warn(f"{path.name}: {message}", stacklevel=1)


def test_cfn_lint_reports_a_broken_template():
    """The lint call really lints: a wrong property type is an error."""
    broken = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: [not, a, string]\n"
    matches = lint(broken, config=ManualArgs(regions=LINT_REGIONS))
    assert any(match.rule.severity == "error" for match in matches)
