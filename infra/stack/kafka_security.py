"""A local broker's SASL_SSL listener with SCRAM logins, as production clusters offer (MSK, Confluent).

The broker's TLS key and a self-signed certificate for its host come from the JDK's `keytool`;
clients trust the certificate as their CA (`KafkaSettings.ssl_ca_location`).  The SCRAM users
are written into the KRaft metadata when the storage is formatted (`kafka-storage format
--add-scram`), so the broker needs no ZooKeeper and no running admin to create them.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.stack.process import ServiceError
from lakehouse.jvm import java_executable

MECHANISM = "SCRAM-SHA-512"
BROKER_USER = "broker"  # the broker's own login on its inter-broker listener
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


@dataclass(frozen=True)
class BrokerSecurity:
    """TLS material under ``home`` and the SCRAM ``users`` (name -> password) a broker accepts."""

    home: Path
    users: Mapping[str, str]
    host: str = "127.0.0.1"
    store_password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    broker_password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)

    @property
    def keystore(self) -> Path:
        return self.home / "broker.p12"

    @property
    def ca_file(self) -> Path:
        """The PEM certificate clients trust."""
        return self.home / "ca.pem"

    def ensure_tls(self) -> None:
        """Make the broker's key and certificate (valid for ``host``) once."""
        if self.keystore.exists() and self.ca_file.exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        keytool = str(Path(java_executable()).resolve().parent / "keytool")
        common = ["-keystore", str(self.keystore), "-storetype", "PKCS12", "-storepass", self.store_password]
        san = f"SAN=ip:{self.host},dns:localhost" if self.host[0].isdigit() else f"SAN=dns:{self.host}"
        for args in (
            ["-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "30",
             "-dname", f"CN={self.host}", "-ext", san, *common],
            ["-exportcert", "-rfc", "-alias", "broker", "-file", str(self.ca_file), *common],
        ):  # fmt: skip
            result = subprocess.run([keytool, *args], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise ServiceError(
                    f"keytool {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}"
                )

    def broker_properties(self) -> dict[str, str]:
        """server.properties entries for a SASL_SSL listener named SASL_SSL (clients and inter-broker)."""
        return {
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": (
                f'{_SCRAM_LOGIN} required username="{BROKER_USER}" password="{self.broker_password}";'
            ),
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(self.keystore),
            "ssl.keystore.password": self.store_password,
            "ssl.key.password": self.store_password,
            # The broker is a client of its own listener (inter-broker): it trusts the same CA.
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
        }

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments creating every SCRAM user, the broker's own included."""
        logins = {BROKER_USER: self.broker_password, **self.users}
        return [
            arg
            for name, pw in logins.items()
            for arg in ("--add-scram", f"{MECHANISM}=[name={name},password={pw}]")
        ]
