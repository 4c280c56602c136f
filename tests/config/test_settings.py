"""Configuration: a missing or malformed variable stops start-up with one clear line; secrets never show."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from gateway import settings
from gateway.errors import ConfigurationError
from gateway.observability import configure_logging
from tests.support.environment import (
    BASE_ENVIRONMENT,
    FAKE_SECRETS,
    free_port,
    gateway_environment,
    run_gateway,
)

REQUIRED = [
    "TIM_SDKAPPID",
    "TIM_SECRET_KEY",
    "TIM_ADMIN_IDENTIFIER",
    "TIM_CALLBACK_TOKEN",
    "SF_INSTANCE_URL",
    "SF_CLIENT_ID",
    "SF_ORG_ID",
]


@pytest.mark.parametrize("variable", REQUIRED)
def test_each_required_variable_missing_is_named_in_one_line(variable: str) -> None:
    environment = {k: v for k, v in BASE_ENVIRONMENT.items() if k != variable}
    with pytest.raises(ConfigurationError) as raised:
        settings.load(settings.Settings, environment)
    message = str(raised.value)
    assert message.count("\n") == 0
    assert message.startswith(f"configuration error: {variable} is required")


@pytest.mark.parametrize("variable", ["TIM_SDKAPPID", "SF_ORG_ID"])
def test_a_missing_variable_makes_the_command_exit_non_zero_with_that_one_line(variable: str) -> None:
    environment = gateway_environment()
    del environment[variable]
    finished = run_gateway("config", "check", environment=environment)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [finished.stderr.strip()]
    assert variable in finished.stderr


@pytest.mark.parametrize("variable", REQUIRED)
def test_a_required_variable_set_but_empty_is_refused_as_required(variable: str) -> None:
    finished = run_gateway("config", "check", environment=gateway_environment(**{variable: ""}))
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [finished.stderr.strip()]
    assert finished.stderr.startswith(f"configuration error: {variable} is required")


def test_an_empty_client_secret_counts_as_unset_so_no_salesforce_flow_is_configured() -> None:
    finished = run_gateway("config", "check", environment=gateway_environment(SF_CLIENT_SECRET=""))
    assert finished.returncode == 2
    assert finished.stderr.strip() == (
        "configuration error: SF_CLIENT_SECRET (client credentials) or SF_JWT_PRIVATE_KEY_FILE with "
        "SF_JWT_USERNAME (JWT bearer) is required"
    )


def test_neither_salesforce_flow_configured_names_both_options() -> None:
    environment = {k: v for k, v in BASE_ENVIRONMENT.items() if k != "SF_CLIENT_SECRET"}
    with pytest.raises(
        ConfigurationError, match=r"SF_CLIENT_SECRET .* or SF_JWT_PRIVATE_KEY_FILE with SF_JWT_USERNAME"
    ):
        settings.load(settings.Settings, environment)


def test_a_malformed_value_is_named_without_echoing_it() -> None:
    environment = {**BASE_ENVIRONMENT, "TIM_SDKAPPID": "not-a-number-s3cret"}
    with pytest.raises(ConfigurationError) as raised:
        settings.load(settings.Settings, environment)
    assert "TIM_SDKAPPID is malformed" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_an_api_version_older_than_65_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigurationError, match=r"SF_API_VERSION is malformed: must be 65\.0 or later"):
        settings.load(settings.Settings, {**BASE_ENVIRONMENT, "SF_API_VERSION": "59.0"})


def test_an_unknown_region_is_named_with_the_allowed_ones_and_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings.load(settings.Settings, {**BASE_ENVIRONMENT, "TIM_REGION": "atlantis-s3cret"})
    message = str(raised.value)
    assert message.startswith("configuration error: TIM_REGION is malformed: not a data centre")
    assert "singapore" in message and "silicon-valley" in message
    assert "atlantis" not in message


@pytest.mark.parametrize("version", ["nan", "inf", "NaN", "1e3"])
def test_an_api_version_that_is_not_digits_dot_digits_is_refused(version: str) -> None:
    with pytest.raises(ConfigurationError, match=r"SF_API_VERSION is malformed: must look like 65\.0"):
        settings.load(settings.Settings, {**BASE_ENVIRONMENT, "SF_API_VERSION": version})


@pytest.mark.parametrize("appid", ["0", "-5"])
def test_an_sdkappid_must_be_positive(appid: str) -> None:
    with pytest.raises(ConfigurationError, match="TIM_SDKAPPID is malformed: input should be greater than 0"):
        settings.load(settings.Settings, {**BASE_ENVIRONMENT, "TIM_SDKAPPID": appid})


@pytest.mark.parametrize("url", ["notaurl", "ftp://adminapisgp.im.qcloud.com", "https://"])
def test_an_explicit_tencent_base_url_must_be_an_http_url_with_a_host(url: str) -> None:
    with pytest.raises(ConfigurationError, match="TIM_API_BASE_URL is malformed: must be a URL starting"):
        settings.load(settings.Settings, {**BASE_ENVIRONMENT, "TIM_API_BASE_URL": url})


@pytest.mark.parametrize(
    ("variable", "value"),
    [("GATEWAY_RETENTION_DAYS", "inf"), ("GATEWAY_LEASE_SECONDS", "inf"), ("GATEWAY_POLL_SECONDS", "nan")],
)
def test_a_duration_must_be_a_finite_number(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{variable} is malformed: input should be a finite number"):
        settings.load(settings.StoreSettings, {variable: value})


def test_store_commands_need_no_credentials() -> None:
    loaded = settings.load(settings.StoreSettings, {"DATABASE_URL": "sqlite:///x.db"})
    assert loaded.database_url == "sqlite:///x.db" and loaded.gateway_worker_concurrency == 8


def test_lists_are_comma_separated() -> None:
    loaded = settings.load(
        settings.StoreSettings, {"GATEWAY_HANDLER_PLUGINS": "site.flows:registry, other.flows:registry"}
    )
    assert loaded.gateway_handler_plugins == ["site.flows:registry", "other.flows:registry"]


@pytest.mark.parametrize("entries", ["json", "site.flows:registry, :registry", "site-flows:registry"])
def test_a_handler_plugin_not_named_module_colon_function_is_refused_without_echoing_it(entries: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings.load(settings.StoreSettings, {"GATEWAY_HANDLER_PLUGINS": entries})
    message = str(raised.value)
    assert message.startswith("configuration error: GATEWAY_HANDLER_PLUGINS is malformed: entry ")
    assert "does not look like package.module:function" in message and "\n" not in message
    assert "flows" not in message and "json" not in message


@pytest.mark.parametrize("argv", [["config", "check"], ["serve"], ["worker"]], ids=" ".join)
def test_a_handler_plugin_that_cannot_be_imported_stops_the_process_in_one_line(
    argv: list[str], tmp_path: Path
) -> None:
    environment = gateway_environment(
        GATEWAY_HANDLER_PLUGINS="tests.support.recording:registry, nosuchmod:registry",
        DATABASE_URL=f"sqlite:///{tmp_path / 'gateway.db'}",
        PORT=str(free_port()),
    )
    finished = run_gateway(*argv, environment=environment)
    assert finished.returncode == 2
    assert finished.stderr.strip() == (
        "configuration error: GATEWAY_HANDLER_PLUGINS entry 'nosuchmod:registry' cannot be loaded "
        "(ModuleNotFoundError: No module named 'nosuchmod')"
    )
    assert not (tmp_path / "gateway.db").exists()  # stopped before touching the store


def test_config_check_prints_the_effective_configuration_with_secrets_masked() -> None:
    environment = gateway_environment(DATABASE_URL="postgresql://gw:db-password-55@db.internal/gw")
    finished = run_gateway("config", "check", environment=environment)
    assert finished.returncode == 0
    assert "TIM_SDKAPPID" in finished.stdout and "1400000001" in finished.stdout
    assert "configuration OK" in finished.stdout
    for secret in [*FAKE_SECRETS.values(), "db-password-55"]:
        assert secret not in finished.stdout + finished.stderr
    assert "postgresql://gw:********@db.internal/gw" in finished.stdout


def test_config_check_masks_a_password_given_in_the_query_string() -> None:
    url = "postgresql://db.internal/gw?user=gw&password=query-password-77&sslmode=require"
    finished = run_gateway("config", "check", environment=gateway_environment(DATABASE_URL=url))
    assert finished.returncode == 0
    assert "query-password-77" not in finished.stdout + finished.stderr
    assert "postgresql://db.internal/gw?user=gw&password=********&sslmode=require" in finished.stdout


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://gw:pa%24%24word-9@db.internal/gw",
        "postgresql://db.internal/gw?user=gw&password=pa%24%24word-9",
    ],
    ids=["in-the-user-info", "in-the-query-string"],
)
def test_a_database_password_is_scrubbed_from_logs_as_written_and_decoded(url: str) -> None:
    loaded = settings.load(settings.Settings, {**BASE_ENVIRONMENT, "DATABASE_URL": url})
    stream = io.StringIO()
    configure_logging("INFO", loaded.secret_values(), stream=stream)
    try:
        logging.getLogger("psycopg.pool").warning(
            "bad token %r, or was it %r", "pa%24%24word-9", "pa$$word-9"
        )
    finally:
        logging.getLogger().handlers.clear()
    assert json.loads(stream.getvalue())["message"] == "bad token '[redacted]', or was it '[redacted]'"


def test_a_secret_that_reaches_a_log_line_is_redacted() -> None:
    loaded = settings.load(settings.Settings, BASE_ENVIRONMENT)
    stream = io.StringIO()
    configure_logging("INFO", loaded.secret_values(), stream=stream)
    try:
        log = logging.getLogger("gateway.test")
        log.info("calling with key %s", FAKE_SECRETS["TIM_SECRET_KEY"])
        log.warning("token in an extra field", extra={"token": FAKE_SECRETS["TIM_CALLBACK_TOKEN"]})
        try:
            raise RuntimeError(f"remote echoed {FAKE_SECRETS['SF_CLIENT_SECRET']}")
        except RuntimeError:
            log.exception("failure")
    finally:
        logging.getLogger().handlers.clear()
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 3
    for secret in FAKE_SECRETS.values():
        assert secret not in output
    assert "[redacted]" in lines[0]["message"] and lines[1]["token"] == "[redacted]"


def test_an_org_id_with_a_wrong_checksum_is_refused_and_a_15_character_one_is_widened() -> None:
    with pytest.raises(ConfigurationError, match="SF_ORG_ID is malformed"):
        settings.load(settings.Settings, {**BASE_ENVIRONMENT, "SF_ORG_ID": "00D000000000001AAA"})
    widened = settings.load(settings.Settings, {**BASE_ENVIRONMENT, "SF_ORG_ID": "00D000000000001"})
    assert widened.sf_org_id == "00D000000000001EAA"


def _pem_shaped(lines: int) -> str:
    body = "\n".join(f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7{i:012d}" for i in range(lines))
    return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "pasted",
    [_pem_shaped(80), "/keys/" + "MIIEvQIBADAN" * 25 + "/key.pem"],
    ids=["longer-than-a-path-may-be", "a-segment-longer-than-a-name-may-be"],
)
def test_a_key_pasted_where_its_path_belongs_is_refused_in_one_line_without_echoing_it(pasted: str) -> None:
    environment = gateway_environment(SF_JWT_USERNAME="bot@example.com", SF_JWT_PRIVATE_KEY_FILE=pasted)
    finished = run_gateway("config", "check", environment=environment)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        "configuration error: SF_JWT_PRIVATE_KEY_FILE is malformed: must be the path of a readable PEM file "
        "(not the key itself) (expected path of a PEM private key file (JWT bearer flow))"
    ]
    assert "MIIEvQIBADAN" not in finished.stdout + finished.stderr


def test_a_key_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    environment = {
        **BASE_ENVIRONMENT,
        "SF_JWT_USERNAME": "bot@example.com",
        "SF_JWT_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem"),
    }
    with pytest.raises(ConfigurationError, match="SF_JWT_PRIVATE_KEY_FILE is malformed: must be the path"):
        settings.load(settings.Settings, environment)
