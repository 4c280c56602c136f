"""One typed settings object, read from the environment and validated at start-up.

This module is the only reader of ``os.environ`` in the gateway. pydantic-settings was chosen
over hand-written parsing because it gives typed fields, secret values that never print
(``SecretStr`` renders as ``**********``), and one place that lists every variable with its
meaning, which ``tim-gateway config check`` and the README both draw on.

Two levels, so that operator commands do not demand credentials they never use:
:class:`StoreSettings` (the database and the worker) is enough for ``migrate`` and
``events …``; :class:`Settings` adds the Tencent IM and Salesforce credentials that ``serve``
and ``worker`` need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway import salesforce_ids
from gateway.clients.tencent_im.regions import REGION_DOMAINS, base_url_for_region
from gateway.errors import ConfigurationError


class StoreSettings(BaseSettings):
    """The durable core: where events live and how the worker runs them."""

    # env_ignore_empty: ``VAR=`` counts as unset, as deploy files write it (``${VAR:-}``). An
    # empty required secret is then reported as required instead of accepted, and an empty
    # SF_CLIENT_SECRET leaves the Salesforce flow check to say that no flow is configured.
    # allow_inf_nan=False: "inf" or "nan" passes a bare bound check (an endless lease, a
    # window every comparison misses), so no float setting accepts them.
    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, env_ignore_empty=True, allow_inf_nan=False
    )

    database_url: str = Field(
        "sqlite:///gateway.db",
        description="sqlite:///PATH (embedded, one process) or postgresql://USER@HOST:PORT/DB (replicas)",
    )
    gateway_migrate_on_start: bool = Field(
        True, description="apply pending migrations when serve/worker start"
    )
    gateway_worker_concurrency: int = Field(8, ge=1, le=256, description="events handled at once per process")
    gateway_embedded_worker: bool = Field(True, description="serve also runs the worker in the same process")
    gateway_lease_seconds: float = Field(60.0, gt=1, description="how long a claim lasts without a heartbeat")
    gateway_max_attempts: int = Field(30, ge=1, description="attempts before an event is dead-lettered")
    gateway_retry_base_seconds: float = Field(2.0, gt=0, description="first retry delay; doubles each time")
    gateway_retry_cap_seconds: float = Field(7200.0, gt=0, description="longest delay between two attempts")
    gateway_handler_timeout_seconds: float = Field(300.0, gt=0, description="one handler run, at most")
    gateway_poll_seconds: float = Field(0.5, gt=0, description="idle worker's polling interval")
    gateway_shutdown_grace_seconds: float = Field(20.0, ge=0, description="time to finish in-flight work")
    gateway_retention_days: float = Field(
        14.0, ge=2.0, description="days a finished event (and its dedupe key) is kept; at least 2"
    )
    gateway_handler_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="extra handler registries, comma-separated module:function names",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log threshold")

    @field_validator("database_url")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    def secret_values(self) -> list[str]:
        """Every secret's plain value, so the log redactor can scrub them if one ever slips through.

        Here only the database password: ``migrate`` and ``events …`` load no other secret, and
        psycopg's pool logs connection errors that may quote it.
        """
        return _url_passwords(self.database_url)

    @field_validator("gateway_handler_plugins", mode="before")
    @classmethod
    def _split_plugins(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("gateway_handler_plugins")
    @classmethod
    def _plugin_names(cls, value: list[str]) -> list[str]:
        # The form only; whether each imports is checked when serve/worker build their handlers.
        for number, entry in enumerate(value, start=1):
            module, colon, function = entry.partition(":")
            dotted = all(part.isidentifier() for part in module.split("."))
            if not (colon and dotted and function.isidentifier()):
                raise ValueError(f"entry {number} does not look like package.module:function")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(StoreSettings):
    """Everything ``serve`` and ``worker`` need, credentials included."""

    host: str = Field("127.0.0.1", description="HTTP bind address")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port")
    gateway_max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body accepted")
    metrics_port: int | None = Field(None, ge=1, le=65535, description="worker process: serve /metrics here")

    tim_sdkappid: int = Field(gt=0, description="SDKAppID of the Tencent IM app (a positive integer)")
    tim_secret_key: SecretStr = Field(description="the IM app's secret key, used to sign admin UserSigs")
    tim_admin_identifier: str = Field(description="UserID of an App admin account")
    tim_region: str = Field(
        "singapore", description=f"data centre: one of {', '.join(REGION_DOMAINS)} (or a short code)"
    )
    tim_api_base_url: str | None = Field(
        None, description="explicit REST base URL (http:// or https://); overrides TIM_REGION"
    )
    tim_callback_token: SecretStr = Field(description="callback authentication token set in the IM console")

    sf_instance_url: str = Field(description="the org's My Domain URL, https://acme.my.salesforce.com")
    sf_login_url: str = Field("https://login.salesforce.com", description="OAuth audience for JWT bearer")
    sf_client_id: str = Field(description="consumer key of the External Client App")
    sf_client_secret: SecretStr | None = Field(None, description="consumer secret (client credentials flow)")
    sf_jwt_private_key_file: Path | None = Field(
        None, description="path of a PEM private key file (JWT bearer flow)"
    )
    sf_jwt_username: str | None = Field(None, description="username the JWT bearer flow acts as")
    sf_org_id: str = Field(description="18-character Organization Id (00D...)")
    sf_api_version: str = Field("65.0", description="REST API version, 65.0 or later")
    sf_outbound_secret: SecretStr | None = Field(
        None, description="token that makes the Outbound Message URL unguessable"
    )
    sf_auto_assign_on_create: bool = Field(True, description="run Case assignment rules when a ticket opens")

    @field_validator("tim_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        try:
            base_url_for_region(value)
        except ValueError:
            # The description lists the names; the value given is never echoed.
            raise ValueError("not a data centre this gateway knows") from None
        return value

    @field_validator("tim_api_base_url")
    @classmethod
    def _tencent_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _is_http_url(value):
            raise ValueError("must be a URL starting with http:// or https://, with a host")
        return value.rstrip("/")

    @field_validator("sf_org_id")
    @classmethod
    def _org_id(cls, value: str) -> str:
        if not value.startswith("00D") or not salesforce_ids.is_valid(value):
            raise ValueError(
                "must be a 15- or 18-character Organization Id starting with 00D (checksum included)"
            )
        return salesforce_ids.to18(value)

    @field_validator("sf_instance_url", "sf_login_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        if not _is_http_url(value):
            raise ValueError("must be a URL starting with https://")
        return value.rstrip("/")

    @field_validator("sf_api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        # Digits, a dot, digits: float() alone would take "nan" (never < 65) and "inf".
        if not re.fullmatch(r"[0-9]+\.[0-9]+", value):
            raise ValueError("must look like 65.0")
        if float(value) < 65.0:
            raise ValueError("must be 65.0 or later (SOAP login is gone from 65.0 on; we use OAuth)")
        return value

    @field_validator("sf_jwt_private_key_file")
    @classmethod
    def _readable_key_file(cls, value: Path | None) -> Path | None:
        if value is not None and not _is_file(value):
            raise ValueError("must be the path of a readable PEM file (not the key itself)")
        return value

    @model_validator(mode="after")
    def _one_salesforce_flow(self) -> Settings:
        jwt = self.sf_jwt_private_key_file is not None or self.sf_jwt_username is not None
        if jwt and (self.sf_jwt_private_key_file is None or self.sf_jwt_username is None):
            raise ValueError("SF_JWT_PRIVATE_KEY_FILE and SF_JWT_USERNAME go together (JWT bearer flow)")
        if not jwt and self.sf_client_secret is None:
            raise ValueError(
                "SF_CLIENT_SECRET (client credentials) or SF_JWT_PRIVATE_KEY_FILE with SF_JWT_USERNAME "
                "(JWT bearer) is required"
            )
        return self

    def secret_values(self) -> list[str]:
        """The database password and every credential, for the log redactor."""
        secrets = [self.tim_secret_key, self.tim_callback_token]
        secrets += [s for s in (self.sf_client_secret, self.sf_outbound_secret) if s is not None]
        values = [s.get_secret_value() for s in secrets if s.get_secret_value()]
        return [*values, *super().secret_values()]


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed IPv6 literal or port
        return False


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that says no instead of raising.

    Operators sometimes paste the PEM key itself where its path belongs; the OS then refuses the
    name (ENAMETOOLONG), and an uncaught OSError would print the key in a traceback.
    """
    try:
        return path.is_file()
    except (OSError, ValueError):  # name too long; NUL byte
        return False


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


SettingsT = TypeVar("SettingsT", bound=StoreSettings)


def default(name: str) -> Any:
    """The default of one setting, for code that has a parameter of the same meaning.

    Defaults live here, once: :class:`~gateway.retry.RetryPolicy` and
    :class:`~gateway.worker.WorkerOptions` take theirs from this function, so a test that
    builds them by hand gets what an unconfigured process would run with.
    """
    field = Settings.model_fields[name]
    return field.get_default(call_default_factory=True)


def load(kind: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
    """Build ``kind`` from the environment, or raise :class:`ConfigurationError` with one line per problem.

    The message names each variable and what is expected, and never echoes the value given:
    a malformed secret must not reach a terminal or a log.
    """
    try:
        if environ is None:
            return kind()
        return kind(**_from_mapping(kind, environ))
    except ValidationError as exc:
        raise ConfigurationError("\n".join(_describe(kind, error) for error in exc.errors())) from None


def _from_mapping(kind: type[StoreSettings], environ: Mapping[str, str]) -> dict[str, Any]:
    """Pick the variables ``kind`` knows out of an explicit mapping (tests, ``demo``); empty is unset."""
    lowered = {key.lower(): value for key, value in environ.items() if value != ""}
    return {name: lowered[name] for name in kind.model_fields if name in lowered}


def _describe(kind: type[StoreSettings], error: Any) -> str:
    location = error.get("loc") or ()
    if not location:  # a model-level rule; its message already names the variables
        return f"configuration error: {str(error.get('msg', '')).removeprefix('Value error, ')}"
    name = str(location[0])
    variable = name.upper()
    field = kind.model_fields.get(name)
    expected = field.description if field is not None and field.description else "a valid value"
    if error.get("type") == "missing":
        return f"configuration error: {variable} is required ({expected})"
    reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    # Only the first letter: pydantic's "Input should be..." reads better mid-sentence, while
    # our own reasons keep their acronyms (PEM, SOAP).
    reason = reason[:1].lower() + reason[1:]
    return f"configuration error: {variable} is malformed: {reason} (expected {expected})"


def describe_effective(settings: StoreSettings) -> list[tuple[str, str]]:
    """``(VARIABLE, value)`` for every setting, secrets masked: what ``config check`` prints."""
    rows: list[tuple[str, str]] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        rows.append((name.upper(), _mask(value)))
    return rows


def _mask(value: object) -> str:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else "(empty)"
    if isinstance(value, list):
        return ", ".join(_mask(item) for item in value) or "(none)"
    if value is None:
        return "(unset)"
    if isinstance(value, str) and "://" in value:
        return _mask_url_passwords(value)
    return str(value)


# A URL may carry a password in two places libpq reads: ``user:password@`` and the query
# (``?password=``, and ``sslpassword=`` for the client key). Both are read generously: libpq
# ends the password at the first @, a careless URL may hold an unencoded @ in it, so masking
# runs to the last @ and scrubbing knows both readings.
_URL_CREDENTIALS = re.compile(r"^([^:/?#]+://[^/:@]*):(.*)@", re.DOTALL)
_URL_QUERY_FIELD = re.compile(r"([?&])([^?&=]*)=([^&]*)")
_PASSWORD_KEYS = frozenset({"password", "sslpassword"})


def _mask_url_passwords(url: str) -> str:
    """``postgresql://user:********@host/db?password=********``: what ``config check`` shows."""
    masked = _URL_CREDENTIALS.sub(r"\1:********@", url, count=1)
    return _URL_QUERY_FIELD.sub(
        lambda field: f"{field[1]}{field[2]}=********" if unquote(field[2]) in _PASSWORD_KEYS else field[0],
        masked,
    )


def _url_passwords(url: str) -> list[str]:
    """Every password a URL carries, as written and percent-decoded, for the log redactor.

    libpq decodes %XX before it connects, and its error messages may quote either form (an
    invalid escape such as ``%zz`` is quoted as written), so both are scrubbed.
    """
    written: list[str] = []
    if credentials := _URL_CREDENTIALS.match(url):
        written += [credentials[2], credentials[2].split("@", 1)[0]]
    written += [field[3] for field in _URL_QUERY_FIELD.finditer(url) if unquote(field[2]) in _PASSWORD_KEYS]
    return list(dict.fromkeys(form for value in written if value for form in (value, unquote(value))))
