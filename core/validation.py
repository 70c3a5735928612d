"""Rules for every value a user gives a setup: one function per field, one message per broken rule.

Pure Python (no Flask, no boto3): the portal's forms and its JSON API call the same functions, so a
value gets the same verdict and the same message wherever it is entered, and the worker may re-check
what it reads. Each ``check_*`` returns the normalised value or raises InvalidValue whose messages are
fit to show next to the field.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from core.models.setups import AccessMethod, SourceProvider
from core.regions import is_pipeline_region, pipeline_regions

REQUIRED = "This field is required."


class InvalidValue(ValueError):
    """A value breaks a rule; ``messages`` say which, in words for the person who typed it."""

    def __init__(self, *messages: str):
        super().__init__(messages[0])
        self.messages = list(messages)


# --- text no field can hold ----------------------------------------------------------------------
# JSON can spell a lone UTF-16 surrogate ("\ud800"): half of a character, which no UTF-8 column, page
# or AWS API can carry (encoding it raises). PostgreSQL's text and jsonb refuse NUL, and so does
# every AWS parameter the portal fills. Every check below refuses both first, without echoing them.

LONE_SURROGATE = ("This text holds a lone UTF-16 surrogate (such as \\ud800), half of a character that "
                  "cannot be stored or sent: retype it.")
NUL_CHARACTER = "This text holds a NUL character (\\u0000), which neither the database nor AWS accepts."
CONTROL_CHARACTERS = "Control characters such as line breaks are not allowed."
_SURROGATES = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Return why no column, page or AWS call can hold ``text``, or None when one can."""
    if _SURROGATES.search(text):
        return LONE_SURROGATE
    if "\x00" in text:
        return NUL_CHARACTER
    return None


def safe_text(text: str) -> str:
    """Return ``text`` with every lone surrogate and NUL spelled as an escape, fit to show in a message."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def text_rule(check: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``check`` refuse unstorable text before it applies the field's own rule."""

    @functools.wraps(check)
    def checked(value: Any, *args: Any) -> Any:
        if isinstance(value, str) and (problem := unstorable(value)):
            raise InvalidValue(problem)
        return check(value, *args)

    return checked


# --- whole numbers in addresses, query strings and forms -----------------------------------------

MAX_ID = 2**31 - 1  # row ids (setups, operations, events, users, tokens) are 32-bit integers on PostgreSQL
# str.isdigit() and int() also take '²', '①' or '٣' (and int() refuses text over 4,300 digits with
# ValueError): a number a person or a program sends the portal is ASCII digits, and short.
WHOLE_NUMBER_TEXT_MAX = 32
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def parse_whole_number(text: Any, minimum: int, maximum: int) -> int:
    """Return the ASCII decimal ``text`` as an int from ``minimum`` to ``maximum``.

    :raise InvalidValue: the text is not ASCII digits, too long, or out of range
    """
    message = f"Must be a whole number from {minimum} to {maximum}."
    # The length goes first, so int() never sees text long enough to be slow or to raise.
    if not isinstance(text, str) or len(text) > WHOLE_NUMBER_TEXT_MAX or not _ASCII_DIGITS.fullmatch(text):
        raise InvalidValue(message)
    number = int(text)
    if not minimum <= number <= maximum:
        raise InvalidValue(message)
    return number


# --- accounts and region -------------------------------------------------------------------------

ACCOUNT_ID = re.compile(r"[0-9]{12}")
# The AWS console shows account ids as 1111-1111-1111; people paste them so, or with spaces.
ACCOUNT_ID_TYPED = re.compile(r"([0-9]{4})[- ]?([0-9]{4})[- ]?([0-9]{4})", re.ASCII)
ACCOUNT_ID_TYPED_MAX = len("1111-1111-1111")


@text_rule
def check_account_id(value: str) -> str:
    """Return the 12 digits, also when typed in the console's groups of four."""
    if not value:
        raise InvalidValue(REQUIRED)
    match = ACCOUNT_ID_TYPED.fullmatch(value)
    if not match:
        raise InvalidValue("An AWS account ID is exactly 12 digits, e.g. 123456789012.")
    return "".join(match.groups())


@text_rule
def check_region(value: str) -> str:
    if not value:
        raise InvalidValue(REQUIRED)
    if not is_pipeline_region(value):
        raise InvalidValue("Choose a region where both CodePipeline and CloudFormation are available.")
    return value


# --- application ---------------------------------------------------------------------------------

# docs/contracts.md: ^[a-z][a-z0-9-]{1,22}[a-z0-9]$ without "--", so that APP-artifacts-ACCOUNT-REGION
# (S3, 63 characters), APP-cfn-execution-role (IAM) and APP-deploy-dependencies (CloudFormation) fit.
APPLICATION_NAME_MIN, APPLICATION_NAME_MAX = 3, 24


@text_rule
def check_application_name(value: str) -> str:
    if not value:
        raise InvalidValue(REQUIRED)
    if re.search(r"[^a-z0-9-]", value):
        raise InvalidValue("Use only lowercase letters (a-z), digits and hyphens.")
    if not "a" <= value[0] <= "z":
        raise InvalidValue("Start with a lowercase letter.")
    if value.endswith("-"):
        raise InvalidValue("End with a lowercase letter or a digit.")
    if "--" in value:
        raise InvalidValue("Do not put two hyphens in a row.")
    if not APPLICATION_NAME_MIN <= len(value) <= APPLICATION_NAME_MAX:
        raise InvalidValue("Use 3 to 24 characters: the bucket and role names built from it must fit AWS's limits.")
    return value


BRANCH_MAX = 255
_BRANCH_FORBIDDEN = "~^:?*[\\"


@text_rule
def check_branch(value: str) -> str:
    """Apply ``git check-ref-format --branch``'s rules, CodeCommit's length limit and CodePipeline's globs.

    templates_cfn/build-pipeline.yaml states the same rule as BranchName's AllowedPattern
    (tests/templates/test_parameter_parity.py holds them equal).
    """
    if not value:
        raise InvalidValue(REQUIRED)
    if len(value) > BRANCH_MAX:
        raise InvalidValue("Use at most 255 characters.")
    # git refuses bytes below 0x20 and 0x7F; the C1 controls (U+0080 to U+009F) are no better in a name.
    if any(char == " " or unicodedata.category(char) == "Cc" for char in value):
        raise InvalidValue("A branch name cannot contain spaces or control characters.")
    for char in value:
        if char in _BRANCH_FORBIDDEN:
            raise InvalidValue(f"A branch name cannot contain '{char}'.")
    if value.startswith("-"):
        raise InvalidValue("A branch name cannot start with '-'.")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise InvalidValue("A branch name cannot start or end with '/' or contain '//'.")
    if ".." in value:
        raise InvalidValue("A branch name cannot contain '..'.")
    if "@{" in value:
        raise InvalidValue("A branch name cannot contain '@{'.")
    # Beyond git: CodePipeline reads a trigger's branch as a glob, where {a,b} means "a or b", so a
    # GitHub pipeline on a branch with braces would never start.
    if "{" in value or "}" in value:
        raise InvalidValue("A branch name cannot contain '{' or '}': the pipeline's trigger reads them as a pattern.")
    if value in ("@", "HEAD"):
        raise InvalidValue(f"'{value}' is not a valid branch name.")
    if value.endswith("."):
        raise InvalidValue("A branch name cannot end with '.'.")
    for part in value.split("/"):
        if part.startswith("."):
            raise InvalidValue("No part of a branch name between slashes can start with '.'.")
        if part.endswith(".lock"):
            raise InvalidValue("No part of a branch name between slashes can end with '.lock'.")
    return value


SOURCE_PROVIDERS = tuple(provider.value for provider in SourceProvider)


@text_rule
def check_source_provider(value: str) -> str:
    if value not in SOURCE_PROVIDERS:
        raise InvalidValue("Choose CodeCommit or GitHub.")
    return value


@dataclass(frozen=True)
class ConnectionArn:
    service: str
    region: str
    account_id: str
    connection_id: str


CONNECTION_ARN = re.compile(
    r"arn:aws:(codeconnections|codestar-connections):([a-z0-9-]+):([0-9]{12}):connection/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)


@text_rule
def check_connection_arn(value: str) -> ConnectionArn:
    if not value:
        raise InvalidValue("A GitHub source needs the ARN of a CodeConnections connection.")
    match = CONNECTION_ARN.fullmatch(value)
    if not match:
        raise InvalidValue(
            "Enter a connection ARN: arn:aws:codeconnections:REGION:ACCOUNT:connection/ID "
            "(codestar-connections also works)."
        )
    arn = ConnectionArn(*match.groups())
    if not is_pipeline_region(arn.region):
        raise InvalidValue(f"The connection's region {arn.region} is not a region where CodePipeline runs.")
    return arn


def check_connection_placement(arn: ConnectionArn, build_account_id: str, region: str) -> None:
    """Refuse a connection the pipeline cannot use: connections belong to one account and region."""
    if build_account_id and arn.account_id != build_account_id:
        raise InvalidValue(
            f"The connection must belong to the build account {build_account_id}, where the pipeline runs; "
            f"this one belongs to {arn.account_id}."
        )
    # CodePipeline runs a source action in the pipeline's own region only.
    if region and arn.region != region:
        raise InvalidValue(f"The connection must be in the pipeline's region {region}; this one is in {arn.region}.")


GITHUB_OWNER_MAX, GITHUB_REPOSITORY_MAX = 39, 100
GITHUB_OWNER = re.compile(rf"[A-Za-z0-9](?:-?[A-Za-z0-9]){{0,{GITHUB_OWNER_MAX - 1}}}")
GITHUB_REPOSITORY = re.compile(rf"[A-Za-z0-9._-]{{1,{GITHUB_REPOSITORY_MAX}}}")


@text_rule
def check_repository_id(value: str) -> str:
    if not value:
        raise InvalidValue("A GitHub source needs the repository as owner/repo.")
    owner, slash, repository = value.partition("/")
    if not slash or "/" in repository:
        raise InvalidValue("Write the repository as owner/repo, e.g. octo-org/orders-api.")
    if not GITHUB_OWNER.fullmatch(owner):
        raise InvalidValue("The owner is 1 to 39 letters, digits or single hyphens, and cannot start or end with '-'.")
    if not GITHUB_REPOSITORY.fullmatch(repository) or repository in (".", ".."):
        raise InvalidValue("The repository name is 1 to 100 letters, digits, '.', '_' or '-'.")
    return value


# email_validator refuses longer addresses (RFC 5321's limit on a forward path).
APPROVAL_EMAIL_MAX = 254


@text_rule
def check_approval_email(value: str) -> str:
    """Return the normalised address, or "" for none (then nobody is e-mailed about approvals)."""
    if not value:
        return ""
    try:
        # No DNS lookups: the portal must work offline, and SNS confirms the address anyway.
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise InvalidValue("Enter a valid e-mail address, e.g. team@example.com, or leave it empty.") from err


# --- tags ----------------------------------------------------------------------------------------

TAG_KEY_MAX, TAG_VALUE_MAX, TAG_COUNT_MAX = 128, 256, 50
# The portal tags what it creates with portal:* keys (e.g. portal:setup-id); aws:* belongs to AWS.
RESERVED_TAG_PREFIXES = ("aws:", "portal:")
_TAG_PUNCTUATION = set("_.:/=+-@")


def _tag_text_allowed(text: str) -> bool:
    # AWS's rule is [\p{L}\p{Z}\p{N}_.:/=+\-@]*: Unicode letters, separators (spaces) and numbers.
    return all(unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION for char in text)


def tag_problems(key: str, value: str) -> list[str]:
    """Return what is wrong with one tag (empty when it is fine)."""
    if problem := unstorable(key):
        return [f"A tag key: {problem}"]
    if problem := unstorable(value):
        return [f"Tag {key[:20]}: the value: {problem}"]
    problems = []
    if not key:
        problems.append("A tag key cannot be empty.")
    elif len(key) > TAG_KEY_MAX:
        problems.append(f"Tag key {key[:20]}…: use at most 128 characters.")
    elif not _tag_text_allowed(key):
        problems.append(f"Tag key {key}: use only letters, digits, spaces and _ . : / = + - @.")
    elif key.lower().startswith(RESERVED_TAG_PREFIXES):
        problems.append(f"Tag key {key}: the prefixes aws: and portal: are reserved.")
    if len(value) > TAG_VALUE_MAX:
        problems.append(f"Tag {key[:20]}: the value can have at most 256 characters.")
    elif not _tag_text_allowed(value):
        problems.append(f"Tag {key[:20]}: the value can use only letters, digits, spaces and _ . : / = + - @.")
    return problems


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    problems = []
    if len(tags) > TAG_COUNT_MAX:
        problems.append(f"Use at most 50 tags; there are {len(tags)}.")
    for key, value in tags.items():
        problems.extend(tag_problems(key, value))
    if problems:
        raise InvalidValue(*problems)
    return dict(tags)


@text_rule
def parse_tags_text(text: str) -> dict[str, str]:
    """Parse one ``Key=Value`` per line (blank lines ignored) and check the result."""
    tags: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not equals:
            problems.append(f"Line {number}: write each tag as Key=Value.")
        elif key in tags:
            problems.append(f"Line {number}: the tag {key} is given twice.")
        else:
            tags[key] = value
    if problems:
        raise InvalidValue(*problems)
    return check_tags(tags)


# --- per-stage parameters of the sample application ---------------------------------------------
# Each rule is the constraint sample_app/template.yaml declares for the parameter of the same name
# (tests/portal/test_stage_parameters.py holds them equal), so a value the portal accepts is one
# CloudFormation accepts when the pipeline deploys the application stack.

STAGES = ("staging", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
GREETING_MAX = 64  # the sample app refuses longer greetings at start-up
MEMORY_MIN, MEMORY_MAX = 128, 10240  # Lambda's limits, in MB
# The retention periods CloudWatch Logs offers (PutRetentionPolicy), in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


@text_rule
def check_log_level(value: str) -> str:
    if value not in LOG_LEVELS:
        raise InvalidValue("Choose DEBUG, INFO, WARN or ERROR.")
    return value


@text_rule
def check_greeting(value: str) -> str:
    if not value:
        raise InvalidValue(REQUIRED)
    if len(value) > GREETING_MAX:
        raise InvalidValue("Use at most 64 characters.")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidValue(CONTROL_CHARACTERS)
    return value


WHOLE_NUMBER_DIGITS = 6


def _whole_number(value: Any, message: str) -> int:
    """Accept an int or its decimal text (forms and template configuration files send text)."""
    if isinstance(value, bool):
        raise InvalidValue(message)
    if isinstance(value, str):
        if len(value.strip()) > WHOLE_NUMBER_DIGITS:
            raise InvalidValue(message)
        try:
            value = parse_whole_number(value.strip(), 0, 10**WHOLE_NUMBER_DIGITS - 1)
        except InvalidValue as err:
            raise InvalidValue(message) from err
    if not isinstance(value, int):
        raise InvalidValue(message)
    return value


@text_rule
def check_memory_size(value: Any) -> int:
    """Return the memory size in MB as an int."""
    message = "Enter a whole number of MB from 128 to 10240."
    number = _whole_number(value, message)
    if not MEMORY_MIN <= number <= MEMORY_MAX:
        raise InvalidValue(message)
    return number


@text_rule
def check_log_retention(value: Any) -> int:
    """Return the log retention in days as an int; CloudWatch Logs offers only the listed periods."""
    message = "Choose a retention CloudWatch Logs offers: " + ", ".join(map(str, LOG_RETENTION_DAYS)) + " days."
    number = _whole_number(value, message)
    if number not in LOG_RETENTION_DAYS:
        raise InvalidValue(message)
    return number


# CloudFormation parameter name of the sample app -> its check. Stage itself is not among them: the
# configuration file of each stage sets it, and the pipeline deploys each stage's stack with it.
STAGE_PARAMETER_CHECKS = {"LogLevel": check_log_level, "Greeting": check_greeting, "MemorySize": check_memory_size,
                          "LogRetentionInDays": check_log_retention}
# The ones that are numbers: integers in JSON, decimal text in forms and in CloudFormation.
STAGE_NUMBER_PARAMETERS = frozenset({"MemorySize", "LogRetentionInDays"})
# The SAM template's own defaults, used when sample_app/config/<stage>.json gives no valid value.
STAGE_PARAMETER_DEFAULTS = {"LogLevel": "INFO", "Greeting": "Hello", "MemorySize": 128, "LogRetentionInDays": 30}


# --- access to each account ----------------------------------------------------------------------

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
ACCESS_METHODS = tuple(method.value for method in AccessMethod)
ROLE_NAME_MAX, EXTERNAL_ID_MAX = 64, 1224
ROLE_NAME = re.compile(rf"[\w+=,.@-]{{1,{ROLE_NAME_MAX}}}", re.ASCII)
EXTERNAL_ID = re.compile(rf"[\w+=,.@:/-]{{2,{EXTERNAL_ID_MAX}}}", re.ASCII)


@text_rule
def check_access_method(value: str) -> str:
    if value not in ACCESS_METHODS:
        raise InvalidValue("Choose how the portal reaches this account.")
    return value


@text_rule
def check_role_name(value: str) -> str:
    if not value:
        raise InvalidValue(f"Enter the role the portal assumes, e.g. {DEFAULT_ROLE_NAME}.")
    if not ROLE_NAME.fullmatch(value):
        raise InvalidValue("A role name is 1 to 64 letters, digits or + = , . @ _ - characters.")
    return value


@text_rule
def check_external_id(value: str) -> str:
    """Return the external id, or "" when the role does not require one."""
    if value and not EXTERNAL_ID.fullmatch(value):
        raise InvalidValue("An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters.")
    return value


# --- length limits -------------------------------------------------------------------------------


def _longest_connection_arn() -> int:
    region = max(len(r.name) for r in pipeline_regions())
    return len(f"arn:aws:codestar-connections:{'r' * region}:{'0' * 12}:connection/{'0' * 36}")


# The longest text each check can accept: forms carry it as maxlength, so a browser stops typing
# where the rule would refuse (tests/portal/test_validation.py proves each one is the check's limit).
MAX_LENGTHS = {
    check_account_id: ACCOUNT_ID_TYPED_MAX,
    check_application_name: APPLICATION_NAME_MAX,
    check_branch: BRANCH_MAX,
    check_connection_arn: _longest_connection_arn(),
    check_repository_id: GITHUB_OWNER_MAX + 1 + GITHUB_REPOSITORY_MAX,
    check_approval_email: APPROVAL_EMAIL_MAX,
    check_greeting: GREETING_MAX,
    check_memory_size: WHOLE_NUMBER_DIGITS,
    check_role_name: ROLE_NAME_MAX,
    check_external_id: EXTERNAL_ID_MAX,
}
