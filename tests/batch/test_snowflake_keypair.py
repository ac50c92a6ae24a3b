"""Snowflake with key-pair authentication is one settings change, exercised through the emulator.

fakesnow accepts any login, so here it sits behind a check that does what Snowflake does with a
key-pair login: the request must carry a JWT (RS256) signed by the key registered for the user,
issued as ``ACCOUNT.USER.SHA256:<fingerprint of the public key>`` for ``ACCOUNT.USER``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from batch.warehouse import SnowflakeTarget, load_warehouse
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from tests.batch.conftest import HISTORY, iceberg_rows, on_snowflake, snowflake_rows

PASSPHRASE = "correct horse battery staple"


class KeyPairLogin:
    """ASGI wrapper of the emulator refusing any login but a valid key-pair JWT for ``public_key``."""

    def __init__(self, app: Any, public_key: rsa.RSAPublicKey) -> None:
        self.app = app
        self.public_key = public_key
        der = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        self.logins: list[tuple[str, bool]] = []

    def check(self, data: dict[str, Any]) -> bool:
        if data.get("AUTHENTICATOR") != "SNOWFLAKE_JWT" or "PASSWORD" in data:
            return False
        subject = f"{data['ACCOUNT_NAME'].upper()}.{data['LOGIN_NAME'].upper()}"
        try:
            claims = jwt.decode(
                data["TOKEN"], self.public_key, algorithms=["RS256"], options={"require": ["exp"]}
            )
        except jwt.PyJWTError:
            return False
        return claims["sub"] == subject and claims["iss"] == f"{subject}.{self.fingerprint}"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/session/v1/login-request":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        zipped = (b"content-encoding", b"gzip") in [(k.lower(), v) for k, v in scope["headers"]]
        data = json.loads(gzip.decompress(body) if zipped else body)["data"]
        accepted = self.check(data)
        self.logins.append((data.get("AUTHENTICATOR", "password"), accepted))
        if accepted:

            async def replay() -> dict:
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)
            return
        refusal = json.dumps(
            {"data": None, "code": "390144", "message": "JWT token is invalid.", "success": False}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": refusal.encode()})


def _key_file(path: Path, key: rsa.RSAPrivateKey, passphrase: str | None) -> Path:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


@pytest.fixture(scope="module")
def user_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keypair_emulator(
    user_key: rsa.RSAPrivateKey, fakesnow_server: dict
) -> Iterator[tuple[dict, KeyPairLogin]]:
    import importlib

    from tests.support.http import served

    guard = KeyPairLogin(importlib.import_module("fakesnow.server").app, user_key.public_key())
    with served(guard) as base:  # the same emulator state as fakesnow_server (one per process)
        yield {**fakesnow_server, "port": int(base.rsplit(":", 1)[1])}, guard


def _keypair_settings(lake: Settings, server: dict, key_path: Path, passphrase: str | None) -> Settings:
    settings = on_snowflake(lake, server)
    return settings.model_copy(
        update={
            "warehouse": settings.warehouse.model_copy(update={"snowflake_private_key_path": key_path}),
            "snowflake_password": None,
            "snowflake_private_key_passphrase": SecretStr(passphrase) if passphrase else None,
        }
    )


@pytest.mark.integration
def test_the_batch_load_logs_in_with_an_encrypted_key(
    loaded_lake: Settings,
    keypair_emulator: tuple[dict, KeyPairLogin],
    user_key: rsa.RSAPrivateKey,
    fakesnow_server: dict,
    tmp_path: Path,
) -> None:
    server, guard = keypair_emulator
    settings = _keypair_settings(
        loaded_lake, server, _key_file(tmp_path / "rsa_key.p8", user_key, PASSPHRASE), PASSPHRASE
    )
    kwargs = settings.snowflake_connection(30.0, "load")
    assert "password" not in kwargs and isinstance(kwargs["private_key"], bytes)
    before = len(guard.logins)
    summary = load_warehouse(settings, load_catalog(settings), target=SnowflakeTarget(settings, timeout_s=60))
    assert guard.logins[before:] == [("SNOWFLAKE_JWT", True)]
    for table in HISTORY:
        (rows,) = snowflake_rows(fakesnow_server, f"SELECT COUNT(*) FROM RAW.{table.upper()}")[0]
        assert rows == iceberg_rows(settings, table) == summary.totals[table]
    # The same key unencrypted (a secrets manager's mounted file) needs no passphrase.
    plain = _keypair_settings(loaded_lake, server, _key_file(tmp_path / "plain.p8", user_key, None), None)
    SnowflakeTarget(plain, timeout_s=30).close()
    assert guard.logins[-1] == ("SNOWFLAKE_JWT", True)


@pytest.mark.integration
def test_a_wrong_key_or_passphrase_is_refused_in_one_line(
    loaded_lake: Settings,
    keypair_emulator: tuple[dict, KeyPairLogin],
    user_key: rsa.RSAPrivateKey,
    tmp_path: Path,
) -> None:
    import snowflake.connector

    server, guard = keypair_emulator
    key_path = _key_file(tmp_path / "rsa_key.p8", user_key, PASSPHRASE)
    wrong = _keypair_settings(loaded_lake, server, key_path, "not the passphrase")
    with pytest.raises(ValueError) as caught:
        wrong.snowflake_connection(30.0)
    message = str(caught.value)
    assert "\n" not in message and "not the passphrase" not in message
    assert message.startswith(f"cannot read the Snowflake private key {key_path}: ")
    assert "LAKEHOUSE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE" in message
    missing = _keypair_settings(loaded_lake, server, tmp_path / "absent.p8", None)
    with pytest.raises(ValueError, match=r"absent\.p8: No such file"):
        missing.snowflake_connection(30.0)
    # Another user's key: the warehouse refuses the login, as Snowflake would.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = _keypair_settings(loaded_lake, server, _key_file(tmp_path / "other.p8", other, None), None)
    with pytest.raises(snowflake.connector.errors.DatabaseError, match="JWT token is invalid"):
        snowflake.connector.connect(**stranger.snowflake_connection(10.0))
    assert guard.logins[-1] == ("SNOWFLAKE_JWT", False)
    # A password login is refused by this key-pair-only user too.
    with pytest.raises(snowflake.connector.errors.DatabaseError):
        snowflake.connector.connect(**on_snowflake(loaded_lake, server).snowflake_connection(10.0))
    assert guard.logins[-1] == ("password", False)
