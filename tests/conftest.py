"""Shared fixtures: real PostgreSQL, moto S3/EC2, aiosmtpd SMTP; one schema or bucket per test."""

import datetime as dt
import os
import socket
import ssl
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa

from resources.embedded_pg import sqlalchemy_url
from resources.lake import LakeResource
from resources.mailer import MailerResource
from resources.warehouse import WarehouseResource, dispose_engines

os.environ.setdefault("PLATFORM_ENV", "local")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- PostgreSQL -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a real PostgreSQL server: TEST_DATABASE_URL, else a temporary embedded server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield sqlalchemy_url(url)
        return
    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="pgtest-"))
    server = pgserver.get_server(folder / "pg", cleanup_mode="delete")
    try:
        yield sqlalchemy_url(server.get_uri())
    finally:
        server.cleanup()


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        dispose_engines(schema)  # the resources' pools for this schema, before it goes
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def warehouse(pg_url: str, pg_schema: str) -> WarehouseResource:
    """The warehouse resource bound to this test's schema."""
    return WarehouseResource(url=pg_url, search_path=pg_schema)


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh database on the test server (for Dagster storage); URL returned, dropped after."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(pg_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- AWS (moto server: S3 and EC2) ---------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on loopback, with fake credentials in the environment."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3_lake(moto_endpoint: str) -> LakeResource:
    """A lake on a fresh moto S3 bucket, under a prefix."""
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    lake = LakeResource(url=f"s3://{bucket}/data", region="us-east-1", endpoint_url=moto_endpoint)
    lake.client().create_bucket(Bucket=bucket)
    return lake


@pytest.fixture
def local_lake(tmp_path: Path) -> LakeResource:
    """A lake in a temporary folder."""
    return LakeResource(local_root=str(tmp_path / "lake"))


# -- SMTP (aiosmtpd with STARTTLS) ---------------------------------------------------------------
TRY_AGAIN_LATER = "451 4.3.0 try again later"


@dataclass
class SmtpServer:
    """A running local SMTP server and the messages it received.

    `refuse`, when set, is asked about every message at DATA: a message it returns True for is
    answered `451 4.3.0 try again later` (a busy server's transient refusal) and kept in
    `refused` instead of `messages`.
    """

    host: str
    port: int
    ca_file: str
    messages: list[Message] = field(default_factory=list)
    refused: list[Message] = field(default_factory=list)
    refuse: Callable[[Message], bool] | None = None

    def mailer(self, **overrides: object) -> MailerResource:
        """A mailer resource pointing at this server (STARTTLS, trusting its certificate)."""
        config = {"host": self.host, "port": self.port, "ca_file": self.ca_file}
        config.update(overrides)
        return MailerResource(**config)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """An aiosmtpd server on loopback that requires STARTTLS and keeps what it receives."""
    from aiosmtpd.controller import Controller

    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server = SmtpServer(host="127.0.0.1", port=free_port(), ca_file=str(cert))

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):
            message = message_from_bytes(envelope.original_content)
            if server.refuse is not None and server.refuse(message):
                server.refused.append(message)
                return TRY_AGAIN_LATER
            server.messages.append(message)
            return "250 OK"

    controller = Controller(
        Handler(),
        hostname=server.host,
        port=server.port,
        tls_context=tls,
        require_starttls=True,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
