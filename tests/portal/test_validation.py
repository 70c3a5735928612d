"""Every field rule of core.validation, over good and bad inputs, with the exact message."""
from __future__ import annotations

import pytest

from core import validation as v
from core.regions import pipeline_regions

CONNECTION = "arn:aws:codeconnections:eu-west-1:111111111111:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def message_of(check, value, *args) -> list[str]:
    with pytest.raises(v.InvalidValue) as raised:
        check(value, *args)
    return raised.value.messages


@pytest.mark.parametrize("value", ["123456789012", "000000000000"])
def test_accepts_twelve_digit_account_ids(value):
    assert v.check_account_id(value) == value


@pytest.mark.parametrize("value", ["1234-5678-9012", "1234 5678 9012", "12345678-9012"])
def test_normalises_account_ids_typed_in_the_consoles_groups_of_four(value):
    assert v.check_account_id(value) == "123456789012"


@pytest.mark.parametrize("value, message", [
    ("", v.REQUIRED),
    ("12345678901", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("1234567890123", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("1234-5678-901", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("1234--5678-9012", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("12-34-5678-9012", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("-123456789012", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),
    ("١٢٣٤٥٦٧٨٩٠١٢", "An AWS account ID is exactly 12 digits, e.g. 123456789012."),  # Arabic-Indic digits
])
def test_rejects_bad_account_ids(value, message):
    assert message_of(v.check_account_id, value) == [message]


@pytest.mark.parametrize("value", ["eu-west-1", "us-east-1", "ap-southeast-2"])
def test_accepts_pipeline_regions(value):
    assert v.check_region(value) == value


@pytest.mark.parametrize("value, message", [
    ("", v.REQUIRED),
    ("eu-west-9", "Choose a region where both CodePipeline and CloudFormation are available."),
    ("fips-us-east-1", "Choose a region where both CodePipeline and CloudFormation are available."),
    ("cn-north-1", "Choose a region where both CodePipeline and CloudFormation are available."),
])
def test_rejects_other_regions(value, message):
    assert message_of(v.check_region, value) == [message]


@pytest.mark.parametrize("value", ["abc", "orders-api", "a1-b2-c3", "a" * 24, "x9z"])
def test_accepts_application_names(value):
    assert v.check_application_name(value) == value


@pytest.mark.parametrize("value, message", [
    ("", v.REQUIRED),
    ("Orders", "Use only lowercase letters (a-z), digits and hyphens."),
    ("orders_api", "Use only lowercase letters (a-z), digits and hyphens."),
    ("orders.api", "Use only lowercase letters (a-z), digits and hyphens."),
    ("1orders", "Start with a lowercase letter."),
    ("-orders", "Start with a lowercase letter."),
    ("orders-", "End with a lowercase letter or a digit."),
    ("orders--api", "Do not put two hyphens in a row."),
    ("ab", "Use 3 to 24 characters: the bucket and role names built from it must fit AWS's limits."),
    ("a" * 25, "Use 3 to 24 characters: the bucket and role names built from it must fit AWS's limits."),
])
def test_rejects_bad_application_names(value, message):
    assert message_of(v.check_application_name, value) == [message]


@pytest.mark.parametrize("value", ["main", "feature/login", "release-1.2", "users/ann/fix_1", "ünïcode", "a" * 255])
def test_accepts_git_branch_names(value):
    assert v.check_branch(value) == value


@pytest.mark.parametrize("value, message", [
    ("", v.REQUIRED),
    ("a" * 256, "Use at most 255 characters."),
    ("my branch", "A branch name cannot contain spaces or control characters."),
    ("tab\tbranch", "A branch name cannot contain spaces or control characters."),
    ("a~1", "A branch name cannot contain '~'."),
    ("a^1", "A branch name cannot contain '^'."),
    ("a:b", "A branch name cannot contain ':'."),
    ("a?b", "A branch name cannot contain '?'."),
    ("a*b", "A branch name cannot contain '*'."),
    ("a[b", "A branch name cannot contain '['."),
    ("a\\b", "A branch name cannot contain '\\'."),
    ("-main", "A branch name cannot start with '-'."),
    ("/main", "A branch name cannot start or end with '/' or contain '//'."),
    ("main/", "A branch name cannot start or end with '/' or contain '//'."),
    ("a//b", "A branch name cannot start or end with '/' or contain '//'."),
    ("a..b", "A branch name cannot contain '..'."),
    ("a@{b", "A branch name cannot contain '@{'."),
    ("@", "'@' is not a valid branch name."),
    ("HEAD", "'HEAD' is not a valid branch name."),
    ("main.", "A branch name cannot end with '.'."),
    ("feature/.hidden", "No part of a branch name between slashes can start with '.'."),
    (".main", "No part of a branch name between slashes can start with '.'."),
    ("feature.lock/x", "No part of a branch name between slashes can end with '.lock'."),
    ("main.lock", "No part of a branch name between slashes can end with '.lock'."),
])
def test_rejects_what_git_check_ref_format_rejects(value, message):
    assert message_of(v.check_branch, value) == [message]


@pytest.mark.parametrize("value", ["a{b,c}", "release-{1}", "x}"])
def test_rejects_braces_the_pipelines_trigger_would_read_as_a_glob(value):
    assert message_of(v.check_branch, value) == [
        "A branch name cannot contain '{' or '}': the pipeline's trigger reads them as a pattern."]


@pytest.mark.parametrize("value, message", [
    ("", "Choose CodeCommit or GitHub."),
    ("github", "Choose CodeCommit or GitHub."),
    ("Bitbucket", "Choose CodeCommit or GitHub."),
])
def test_rejects_unknown_source_providers(value, message):
    assert message_of(v.check_source_provider, value) == [message]


@pytest.mark.parametrize("value", [CONNECTION, CONNECTION.replace("codeconnections", "codestar-connections")])
def test_accepts_connection_arns(value):
    arn = v.check_connection_arn(value)
    assert (arn.region, arn.account_id) == ("eu-west-1", "111111111111")


FORMAT = ("Enter a connection ARN: arn:aws:codeconnections:REGION:ACCOUNT:connection/ID "
          "(codestar-connections also works).")


@pytest.mark.parametrize("value, message", [
    ("", "A GitHub source needs the ARN of a CodeConnections connection."),
    ("arn:aws:codecommit:eu-west-1:111111111111:repo", FORMAT),
    (CONNECTION.replace(":111111111111:", ":1111:"), FORMAT),
    (CONNECTION.replace("connection/", "host/"), FORMAT),
    (CONNECTION[:-4], FORMAT),
    (CONNECTION.replace("eu-west-1", "xx-west-1"),
     "The connection's region xx-west-1 is not a region where CodePipeline runs."),
])
def test_rejects_bad_connection_arns(value, message):
    assert message_of(v.check_connection_arn, value) == [message]


@pytest.mark.parametrize("build, region, message", [
    ("222222222222", "eu-west-1", "The connection must belong to the build account 222222222222, where the pipeline "
                                  "runs; this one belongs to 111111111111."),
    ("111111111111", "us-east-1",
     "The connection must be in the pipeline's region us-east-1; this one is in eu-west-1."),
])
def test_rejects_connections_the_pipeline_cannot_use(build, region, message):
    assert message_of(v.check_connection_placement, v.check_connection_arn(CONNECTION), build, region) == [message]


@pytest.mark.parametrize("value", ["octo-org/orders-api", "a/b", "A1/repo.name_x-y"])
def test_accepts_github_repositories(value):
    assert v.check_repository_id(value) == value


@pytest.mark.parametrize("value, message", [
    ("", "A GitHub source needs the repository as owner/repo."),
    ("orders-api", "Write the repository as owner/repo, e.g. octo-org/orders-api."),
    ("a/b/c", "Write the repository as owner/repo, e.g. octo-org/orders-api."),
    ("-org/repo", "The owner is 1 to 39 letters, digits or single hyphens, and cannot start or end with '-'."),
    ("my--org/repo", "The owner is 1 to 39 letters, digits or single hyphens, and cannot start or end with '-'."),
    ("o" * 40 + "/repo", "The owner is 1 to 39 letters, digits or single hyphens, and cannot start or end with '-'."),
    ("org/", "The repository name is 1 to 100 letters, digits, '.', '_' or '-'."),
    ("org/..", "The repository name is 1 to 100 letters, digits, '.', '_' or '-'."),
    ("org/re po", "The repository name is 1 to 100 letters, digits, '.', '_' or '-'."),
])
def test_rejects_bad_github_repositories(value, message):
    assert message_of(v.check_repository_id, value) == [message]


@pytest.mark.parametrize("value, expected", [("", ""), ("team@example.com", "team@example.com"),
                                             ("Team@Example.COM", "Team@example.com")])
def test_accepts_approval_emails_or_none(value, expected):
    assert v.check_approval_email(value) == expected


@pytest.mark.parametrize("value", ["team", "team@", "@example.com", "team@localhost", "a b@example.com"])
def test_rejects_bad_approval_emails(value):
    assert message_of(v.check_approval_email, value) == [
        "Enter a valid e-mail address, e.g. team@example.com, or leave it empty."]


@pytest.mark.parametrize("tags", [{}, {"team": "payments", "cost center": "", "a.b:c/d=e+f-g@h_i": "Ünïcödé 1"},
                                  {f"k{i}": "v" for i in range(50)}, {"k" * 128: "v" * 256}])
def test_accepts_tags_within_aws_rules(tags):
    assert v.check_tags(tags) == tags


@pytest.mark.parametrize("tags, messages", [
    ({"": "x"}, ["A tag key cannot be empty."]),
    ({"k" * 129: "x"}, ["Tag key kkkkkkkkkkkkkkkkkkkk…: use at most 128 characters."]),
    ({"team!": "x"}, ["Tag key team!: use only letters, digits, spaces and _ . : / = + - @."]),
    ({"aws:team": "x"}, ["Tag key aws:team: the prefixes aws: and portal: are reserved."]),
    ({"AWS:team": "x"}, ["Tag key AWS:team: the prefixes aws: and portal: are reserved."]),
    ({"portal:setup-id": "1"}, ["Tag key portal:setup-id: the prefixes aws: and portal: are reserved."]),
    ({"team": "v" * 257}, ["Tag team: the value can have at most 256 characters."]),
    ({"team": "a;b"}, ["Tag team: the value can use only letters, digits, spaces and _ . : / = + - @."]),
    ({"team": "line\nbreak"}, ["Tag team: the value can use only letters, digits, spaces and _ . : / = + - @."]),
    ({f"k{i}": "v" for i in range(51)}, ["Use at most 50 tags; there are 51."]),
    ({"a!": "x", "b": "y;"}, ["Tag key a!: use only letters, digits, spaces and _ . : / = + - @.",
                              "Tag b: the value can use only letters, digits, spaces and _ . : / = + - @."]),
])
def test_rejects_tags_breaking_aws_rules(tags, messages):
    assert message_of(v.check_tags, tags) == messages


def test_parses_tag_lines_ignoring_blank_lines_and_outer_spaces():
    assert v.parse_tags_text("team = payments\n\n  cost center=12 \n") == {"team": "payments", "cost center": "12"}


@pytest.mark.parametrize("text, messages", [
    ("team", ["Line 1: write each tag as Key=Value."]),
    ("a=1\na=2", ["Line 2: the tag a is given twice."]),
    ("a=1\n=2", ["A tag key cannot be empty."]),
])
def test_rejects_malformed_tag_lines(text, messages):
    assert message_of(v.parse_tags_text, text) == messages


RETENTION_MESSAGE = ("Choose a retention CloudWatch Logs offers: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
                     "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days.")


@pytest.mark.parametrize("check, value, expected", [
    (v.check_log_level, "WARN", "WARN"),
    (v.check_greeting, "Bonjour à tous", "Bonjour à tous"),
    (v.check_greeting, "g" * 64, "g" * 64),
    (v.check_memory_size, "512", 512),
    (v.check_memory_size, 10240, 10240),
    (v.check_memory_size, 128, 128),
    (v.check_log_retention, 1, 1),
    (v.check_log_retention, "14", 14),
    (v.check_log_retention, " 731 ", 731),
    (v.check_log_retention, 3653, 3653),
])
def test_accepts_stage_parameters(check, value, expected):
    assert check(value) == expected


@pytest.mark.parametrize("check, value, message", [
    (v.check_log_level, "info", "Choose DEBUG, INFO, WARN or ERROR."),
    (v.check_log_level, "VERBOSE", "Choose DEBUG, INFO, WARN or ERROR."),
    (v.check_greeting, "", v.REQUIRED),
    (v.check_greeting, "g" * 65, "Use at most 64 characters."),
    (v.check_greeting, "two\nlines", "Control characters such as line breaks are not allowed."),
    (v.check_memory_size, "127", "Enter a whole number of MB from 128 to 10240."),
    (v.check_memory_size, 10241, "Enter a whole number of MB from 128 to 10240."),
    (v.check_memory_size, "lots", "Enter a whole number of MB from 128 to 10240."),
    (v.check_memory_size, "256.5", "Enter a whole number of MB from 128 to 10240."),
    (v.check_memory_size, True, "Enter a whole number of MB from 128 to 10240."),
    (v.check_memory_size, 256.0, "Enter a whole number of MB from 128 to 10240."),
    *[(v.check_log_retention, value, RETENTION_MESSAGE)
      for value in (0, 2, "13", 3654, -1, "30.0", "", True, 30.0, None)],
])
def test_rejects_bad_stage_parameters(check, value, message):
    assert message_of(check, value) == [message]


@pytest.mark.parametrize("check, value", [
    (v.check_access_method, "assume_role"), (v.check_access_method, "self_launch"),
    (v.check_role_name, "OrganizationAccountAccessRole"), (v.check_role_name, "deploy+role=a,b.c@d_e-f"),
    (v.check_external_id, ""), (v.check_external_id, "ab"), (v.check_external_id, "x" * 1224),
    (v.check_external_id, "tenant:42/a+b=c,d.e@f_g-h"),
])
def test_accepts_access_values(check, value):
    assert check(value) == value


@pytest.mark.parametrize("check, value, message", [
    (v.check_access_method, "ssh", "Choose how the portal reaches this account."),
    (v.check_role_name, "", "Enter the role the portal assumes, e.g. OrganizationAccountAccessRole."),
    (v.check_role_name, "r" * 65, "A role name is 1 to 64 letters, digits or + = , . @ _ - characters."),
    (v.check_role_name, "path/role", "A role name is 1 to 64 letters, digits or + = , . @ _ - characters."),
    (v.check_external_id, "a", "An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters."),
    (v.check_external_id, "x" * 1225, "An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters."),
    (v.check_external_id, "has space", "An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters."),
    (v.check_external_id, "ünï", "An external ID is 2 to 1224 letters, digits or + = , . @ : / _ - characters."),
])
def test_rejects_bad_access_values(check, value, message):
    assert message_of(check, value) == [message]


def longest_valid(check, limit: int) -> str:
    """A value of exactly ``limit`` characters that ``check`` accepts."""
    region = max((r.name for r in pipeline_regions()), key=len)
    builders = {
        v.check_account_id: lambda: "1234-5678-9012"[:limit],
        v.check_application_name: lambda: "a" * limit,
        v.check_branch: lambda: "b" * limit,
        v.check_connection_arn: lambda: CONNECTION.replace("codeconnections", "codestar-connections")
                                                 .replace("eu-west-1", region),
        v.check_repository_id: lambda: "o" * v.GITHUB_OWNER_MAX + "/" + "r" * (limit - v.GITHUB_OWNER_MAX - 1),
        v.check_approval_email: lambda: "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * (limit - 64 - 1 - 128 - 4)])
                                        + ".com",
        v.check_greeting: lambda: "g" * limit,
        v.check_memory_size: lambda: "1024".zfill(limit),
        v.check_role_name: lambda: "r" * limit,
        v.check_external_id: lambda: "e" * limit,
    }
    value = builders[check]()
    assert len(value) == limit, (check.__name__, len(value))
    return value


def one_longer(check, value: str) -> str:
    # Add a character the rule allows where it stands, so only the length can be wrong.
    if check is v.check_account_id:
        return value + "0"
    if check is v.check_connection_arn:
        return value + "0"
    if check is v.check_approval_email:
        return "a" + value
    if check is v.check_memory_size:
        return "0" + value
    return value + value[-1]


@pytest.mark.parametrize("check", list(v.MAX_LENGTHS), ids=lambda check: check.__name__)
def test_each_length_limit_is_the_longest_value_its_rule_accepts(check):
    limit = v.MAX_LENGTHS[check]
    value = longest_valid(check, limit)
    check(value)  # accepted
    with pytest.raises(v.InvalidValue):
        check(one_longer(check, value))


# Every rule that takes text, with a value it accepts: a lone surrogate or a NUL put into it is
# refused with the rule for text no column can hold, before the field's own rule speaks.
TEXT_RULES = [
    (v.check_account_id, "123456789012"), (v.check_region, "eu-west-1"), (v.check_application_name, "orders-api"),
    (v.check_branch, "feature/login"), (v.check_source_provider, "CodeCommit"), (v.check_connection_arn, CONNECTION),
    (v.check_repository_id, "octo-org/orders-api"), (v.check_approval_email, "team@example.com"),
    (v.parse_tags_text, "team=payments"), (v.check_log_level, "INFO"), (v.check_greeting, "Hello"),
    (v.check_memory_size, "256"), (v.check_log_retention, "30"), (v.check_access_method, "assume_role"),
    (v.check_role_name, "OrganizationAccountAccessRole"), (v.check_external_id, "abc-123"),
]


@pytest.mark.parametrize("check, value", TEXT_RULES, ids=[check.__name__ for check, _ in TEXT_RULES])
@pytest.mark.parametrize("bad, message", [("\ud800", v.LONE_SURROGATE), ("\udfff", v.LONE_SURROGATE),
                                          ("\x00", v.NUL_CHARACTER)], ids=["high", "low", "nul"])
def test_every_text_rule_refuses_what_no_column_can_hold(check, value, bad, message):
    check(value)  # accepted as it is
    assert message_of(check, value[:2] + bad + value[2:]) == [message]


@pytest.mark.parametrize("tags, message", [
    ({"te\ud800am": "x"}, f"A tag key: {v.LONE_SURROGATE}"),
    ({"team": "pay\x00"}, f"Tag team: the value: {v.NUL_CHARACTER}"),
])
def test_tags_refuse_what_no_column_can_hold_without_echoing_it(tags, message):
    assert message_of(v.check_tags, tags) == [message]


@pytest.mark.parametrize("value", ["main\x85", "a\x9fb", "a\x7fb"])
def test_branch_names_refuse_every_control_character(value):
    assert message_of(v.check_branch, value) == ["A branch name cannot contain spaces or control characters."]


def test_safe_text_spells_what_it_cannot_show():
    assert v.safe_text("a\ud800b\x00c") == "a\\ud800b\\x00c"


@pytest.mark.parametrize("text, number", [("1", 1), ("0042", 42), ("2147483647", v.MAX_ID)])
def test_parses_ascii_whole_numbers(text, number):
    assert v.parse_whole_number(text, 1, v.MAX_ID) == number


@pytest.mark.parametrize("text", ["²", "①", "٣", "１", "1" * 5000, "2147483648", "0", "", " 1", "+1", "1_000", None, 5])
def test_refuses_anything_but_ascii_whole_numbers_in_range(text):
    assert message_of(v.parse_whole_number, text, 1, v.MAX_ID) == [f"Must be a whole number from 1 to {v.MAX_ID}."]


@pytest.mark.parametrize("check", [v.check_memory_size, v.check_log_retention])
@pytest.mark.parametrize("text", ["²⁵⁶", "٣٠", "1" * 5000])
def test_stage_numbers_refuse_digits_that_are_not_ascii(check, text):
    with pytest.raises(v.InvalidValue):
        check(text)
