"""Helpers shared by the ``test_salesforce_*`` modules: fixtures on disk, keys, listeners.

Kept out of ``conftest.py`` (owned by the core) so the Salesforce tests stay self-contained.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig, create_app
from gateway.clients.salesforce.client import SalesforceClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "salesforce"
INSTANCE = "https://acme.my.salesforce.com"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
ACK = (FIXTURES / "ack-true-asplabs.xml").read_bytes()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@functools.cache
def rsa_pair() -> tuple[str, str]:
    """(private key PEM, self-signed certificate PEM) for the JWT bearer flow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tim-gateway-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return private, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@functools.cache
def other_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def outbound_schema(tmp: Path) -> etree.XMLSchema:
    """The XSD inside the per-message Case WSDL, one file per namespace so the imports resolve."""
    doc = etree.parse(str(FIXTURES / "reconstructed-Case.wsdl"))
    schemas = doc.findall(f".//{{{WSDL}}}types/{{{XSD}}}schema")
    files = {s.get("targetNamespace"): tmp / f"s{i}.xsd" for i, s in enumerate(schemas)}
    for schema in schemas:
        nsmap = {k: v for k, v in {**doc.getroot().nsmap, **schema.nsmap}.items() if k is not None}
        # lxml-stubs type nsmap keys as str, but None is lxml's key for a default namespace.
        new = etree.Element(f"{{{XSD}}}schema", nsmap={**nsmap, None: XSD}, attrib=dict(schema.attrib))  # type: ignore[dict-item]  # lxml-stubs reject the None (default namespace) key lxml accepts
        for child in copy.deepcopy(schema):
            new.append(child)
        for imp in new.findall(f"{{{XSD}}}import"):
            imp.set("schemaLocation", str(files[imp.get("namespace")]))
        etree.ElementTree(new).write(str(files[schema.get("targetNamespace")]))
    return etree.XMLSchema(etree.parse(str(files[OUTBOUND])))


def emulator_app(
    config: SalesforceEmulatorConfig | None = None, *, http: httpx.AsyncClient | None = None
) -> tuple[Starlette, SalesforceEmulator]:
    app = create_app(config or SalesforceEmulatorConfig(jwt_public_key_pem=rsa_pair()[1]), http=http)
    emulator: SalesforceEmulator = app.state.emulator
    return app, emulator


def asgi_client(app: Starlette, base_url: str = INSTANCE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def client_for(
    emulator_config: SalesforceEmulatorConfig | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: object,
) -> tuple[SalesforceClient, SalesforceEmulator]:
    """The gateway's real client on a fresh emulator, in-process (``transport`` may wrap it)."""
    app, emulator = emulator_app(emulator_config)
    http = httpx.AsyncClient(transport=transport) if transport else asgi_client(app)
    settings: dict[str, Any] = {"client_secret": "emulator-client-secret"} | options
    return SalesforceClient(INSTANCE, "emulator-client-id", http=http, **settings), emulator


async def bearer(client: httpx.AsyncClient, config: SalesforceEmulatorConfig) -> dict[str, str]:
    """Authorization header of a fresh client-credentials token."""
    assert config.client_secret is not None
    answer = await client.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(config.client_id, config.client_secret),
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@dataclass
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listener:
    """A stand-in gateway endpoint: records each POST and answers from a script.

    ``script`` holds ``(status, body)`` answers used in order; once empty it ACKs.
    """

    script: list[tuple[int, bytes]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    slow_first: float = 0.0

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            self.received.append(
                Received(request.url.path, request.url.query, dict(request.headers), await request.body())
            )
            if self.slow_first and len(self.received) == 1:
                await anyio.sleep(self.slow_first)
            status, body = self.script.pop(0) if self.script else (200, ACK)
            return Response(body, status_code=status, media_type="text/xml")

        return Starlette(routes=[Route("/salesforce/outbound/{trigger}", endpoint, methods=["POST"])])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app()))
