"""Where the files the template tests read live, relative to the repository root."""
from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CFN_DIR = REPO_ROOT / "templates_cfn"
DEPLOY_DEPENDENCIES = CFN_DIR / "deploy-dependencies.yaml"
BUILD_PIPELINE = CFN_DIR / "build-pipeline.yaml"
SAMPLE_APP = REPO_ROOT / "sample_app"
SAM_TEMPLATE = SAMPLE_APP / "template.yaml"
BUILDSPEC = SAMPLE_APP / "buildspec.yaml"
MAKEFILE = SAMPLE_APP / "Makefile"
CONTRACTS = REPO_ROOT / "docs" / "contracts.md"
CHECKOV_IN_REPO = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"


def cfn_templates() -> list[Path]:
    """Every CloudFormation template in templates_cfn/."""
    return sorted(path for path in CFN_DIR.iterdir() if path.suffix in (".yaml", ".yml", ".json"))


def contract_resource_types() -> set[str]:
    """The resource types docs/contracts.md allows (the emulator supports exactly these)."""
    text = CONTRACTS.read_text(encoding="utf-8")
    section = text.split("## Resource types", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"AWS::\w+::\w+", section))
