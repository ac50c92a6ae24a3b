"""The smallest real Apache Druid cluster: ZooKeeper, coordinator+overlord, broker, historical, Indexer.

Everything runs from the Maven-resolved jars (`infra/jvm/druid`), one JVM per service, sized for
2 cores and a few GB: Derby metadata served by the coordinator, deep storage on the local disk,
and an Indexer that runs ingestion tasks as threads of one JVM (a middle manager would fork one
peon JVM per task). Config files are written under `home/conf` on every start, so a settings
change takes effect on the next `start`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.stack.process import ManagedProcess, ServiceError, free_port, port_open, wait_until
from lakehouse.config import DruidSettings
from lakehouse.jvm import druid_home, java_executable
from lakehouse.log import get_logger

log = get_logger(__name__)

MAIN_CLASS = "org.apache.druid.cli.Main"
ZOOKEEPER_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"
EXTENSIONS = ("druid-kafka-indexing-service", "druid-datasketches")

# Druid's documented JVM flags for Java 17 ("Strong encapsulation", docs/operations/java.md).
JAVA17_FLAGS = (
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
)

_LOG4J2 = """\
<?xml version="1.0" encoding="UTF-8" ?>
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="file" fileName="{logs}/${{sys:druid.service.log}}.log"
                 filePattern="{logs}/${{sys:druid.service.log}}.log.%i">
      <PatternLayout pattern="%d{{ISO8601}} %p [%t] %c - %m%n"/>
      <Policies><SizeBasedTriggeringPolicy size="20 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="file"/></Root>
    <Logger name="org.apache.druid.jetty.RequestLog" additivity="false" level="warn">
      <AppenderRef ref="file"/>
    </Logger>
    <Logger name="org.apache.kafka" level="warn"/>
    <Logger name="org.apache.zookeeper" level="warn"/>
    <Logger name="org.apache.curator" level="warn"/>
  </Loggers>
</Configuration>
"""


@dataclass(frozen=True)
class ServiceInfo:
    """One JVM of the cluster as `status` sees it: PID, health, endpoint and resident memory."""

    name: str
    pid: int | None
    healthy: bool
    endpoint: str
    rss_mib: float | None
    crashed: bool = False


@dataclass(frozen=True)
class DruidService:
    """One Druid service (`org.apache.druid.cli.Main server <command>`)."""

    name: str  # coordinator, broker, historical, indexer, router
    port: int
    heap: str
    direct: str
    properties: dict[str, str]


@dataclass(frozen=True)
class DruidCluster:
    """A single-machine Druid cluster on loopback; state, config and logs under `home`."""

    home: Path
    host: str = "127.0.0.1"
    zookeeper_port: int = 2181
    coordinator_port: int = 8081
    broker_port: int = 8082
    historical_port: int = 8083
    indexer_port: int = 8091
    router_port: int = 8888
    derby_port: int = 1527
    heap: str = "256m"
    indexer_heap: str = "640m"
    zookeeper_heap: str = "96m"
    processing_buffer_mib: int = 32
    worker_capacity: int = 10
    jars: Path | None = None  # Druid's lib/ + extensions/ folder; default: resolved by Maven
    # Seconds from the last `start` to each service healthy and to "ready" (answering SQL).
    timings: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    # --- addresses -----------------------------------------------------------------------------
    @property
    def broker_url(self) -> str:
        return f"http://{self.host}:{self.broker_port}"

    @property
    def overlord_url(self) -> str:
        return f"http://{self.host}:{self.coordinator_port}"

    @property
    def router_url(self) -> str:
        """The one URL a client needs: queries go to the broker, management APIs to the leaders."""
        return f"http://{self.host}:{self.router_port}"

    @property
    def coordinator_url(self) -> str:
        return f"http://{self.host}:{self.coordinator_port}"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    # --- processes -----------------------------------------------------------------------------
    def _process(self, name: str) -> ManagedProcess:
        # The service's conf dir is on its classpath, unique per cluster home: it tells our JVM
        # from any other Druid on the machine.
        return ManagedProcess(f"druid-{name}", self.home, marker=str(self.conf_dir / name))

    @property
    def zookeeper(self) -> ManagedProcess:
        return self._process("zookeeper")

    def services(self) -> tuple[DruidService, ...]:
        """The Druid services in start order (the coordinator first: it serves the metadata store)."""
        buffer = self.processing_buffer_mib * 1024 * 1024

        # Direct memory a query service needs: one buffer per processing thread and merge buffer,
        # plus one (Druid's own sizing rule), with headroom for Netty and the Kafka clients.
        def direct(merge_buffers: int) -> str:
            return f"{self.processing_buffer_mib * (1 + merge_buffers + 1) + 64}m"

        processing = {
            "druid.processing.numThreads": "1",
            "druid.processing.buffer.sizeBytes": str(buffer),
            "druid.processing.tmpDir": str(self.var_dir / "tmp"),
        }
        return (
            DruidService(
                "coordinator",
                self.coordinator_port,
                self.heap,
                "64m",
                {
                    "druid.service": "druid/coordinator",
                    "druid.coordinator.asOverlord.enabled": "true",
                    "druid.coordinator.asOverlord.overlordService": "druid/overlord",
                    # Short periods: a handed-off segment is assigned and loaded within seconds.
                    "druid.coordinator.startDelay": "PT5S",
                    "druid.coordinator.period": "PT5S",
                    "druid.coordinator.period.indexingPeriod": "PT60S",
                    "druid.manager.segments.pollDuration": "PT5S",
                    "druid.manager.rules.pollDuration": "PT10S",
                    "druid.coordinator.kill.on": "false",
                    "druid.indexer.queue.startDelay": "PT1S",
                    "druid.indexer.storage.type": "metadata",
                    "druid.indexer.runner.type": "httpRemote",
                    "druid.supervisor.idleConfig.enabled": "false",
                },
            ),
            DruidService(
                "broker",
                self.broker_port,
                self.heap,
                direct(2),
                {
                    "druid.service": "druid/broker",
                    "druid.broker.http.numConnections": "5",
                    "druid.broker.cache.useCache": "false",
                    "druid.broker.cache.populateCache": "false",
                    "druid.processing.numMergeBuffers": "2",
                    "druid.sql.enable": "true",
                    **processing,
                },
            ),
            DruidService(
                "historical",
                self.historical_port,
                self.heap,
                direct(1),
                {
                    "druid.service": "druid/historical",
                    "druid.processing.numMergeBuffers": "1",
                    "druid.segmentCache.locations": json.dumps(
                        [{"path": str(self.var_dir / "segment-cache"), "maxSize": "4g"}]
                    ),
                    "druid.historical.cache.useCache": "false",
                    "druid.historical.cache.populateCache": "false",
                    **processing,
                },
            ),
            DruidService(
                "indexer",
                self.indexer_port,
                self.indexer_heap,
                direct(1),
                {
                    "druid.service": "druid/indexer",
                    "druid.worker.capacity": str(self.worker_capacity),
                    # Heap all tasks' in-memory rows may take before persisting (default: a sixth).
                    "druid.worker.globalIngestionHeapLimitBytes": str(_bytes(self.indexer_heap) // 3),
                    "druid.indexer.task.baseTaskDir": str(self.var_dir / "task"),
                    "druid.processing.numMergeBuffers": "1",
                    "druid.realtime.cache.useCache": "false",
                    "druid.realtime.cache.populateCache": "false",
                    **processing,
                },
            ),
            DruidService(
                "router",
                self.router_port,
                "128m",
                "64m",
                {
                    "druid.service": "druid/router",
                    "druid.router.defaultBrokerServiceName": "druid/broker",
                    "druid.router.coordinatorServiceName": "druid/coordinator",
                    # Coordinator and overlord APIs through the router too (LAKEHOUSE_DRUID__URL).
                    "druid.router.managementProxy.enabled": "true",
                    "druid.router.http.numConnections": "10",
                    "druid.router.http.numMaxThreads": "20",
                },
            ),
        )

    # --- configuration -------------------------------------------------------------------------
    def _common_properties(self, home: Path) -> dict[str, str]:
        return {
            "druid.host": self.host,
            "druid.extensions.directory": str(home / "extensions"),
            "druid.extensions.loadList": json.dumps(list(EXTENSIONS)),
            "druid.extensions.hadoopDependenciesDir": str(self.var_dir / "hadoop-dependencies"),
            "druid.startup.logging.logProperties": "false",
            "druid.zk.service.host": f"{self.host}:{self.zookeeper_port}",
            "druid.zk.paths.base": "/druid",
            "druid.metadata.storage.type": "derby",
            "druid.metadata.storage.connector.connectURI": (
                f"jdbc:derby://{self.host}:{self.derby_port}/{self.var_dir / 'metadata'};create=true"
            ),
            "druid.metadata.storage.connector.host": self.host,
            "druid.metadata.storage.connector.port": str(self.derby_port),
            "druid.storage.type": "local",
            "druid.storage.storageDirectory": str(self.var_dir / "deep-storage"),
            "druid.indexer.logs.type": "file",
            "druid.indexer.logs.directory": str(self.var_dir / "indexing-logs"),
            "druid.selectors.indexing.serviceName": "druid/overlord",
            "druid.selectors.coordinator.serviceName": "druid/coordinator",
            "druid.emitter": "noop",
            "druid.monitoring.monitors": "[]",
            "druid.indexing.doubleStorage": "double",
            "druid.server.http.numThreads": "12",
            # Jetty would wait 30 s on stop for the Overlord's long polls of the Indexer to end.
            "druid.server.http.gracefulShutdownTimeout": "PT2S",
            "druid.lookup.enableLookupSyncOnStartup": "false",
            "druid.sql.planner.sqlTimeZone": "UTC",
        }

    def _write_config(self) -> Path:
        home = self.jars or druid_home()
        if not (home / "lib").is_dir():
            raise ServiceError(f"no Druid jars under {home}; run `lakehouse setup`")
        for folder in ("logs", "var/tmp", "var/zookeeper", "var/deep-storage", "var/task"):
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        common = self.conf_dir / "_common"
        common.mkdir(parents=True, exist_ok=True)
        _write_properties(common / "common.runtime.properties", self._common_properties(home))
        (common / "log4j2.xml").write_text(_LOG4J2.format(logs=self.home / "logs"))
        for service in self.services():
            service_dir = self.conf_dir / service.name
            service_dir.mkdir(exist_ok=True)
            _write_properties(
                service_dir / "runtime.properties",
                {"druid.plaintextPort": str(service.port), **service.properties},
            )
            (service_dir / "jvm.config").write_text("\n".join(self._jvm_flags(service)) + "\n")
        zk = self.conf_dir / "zookeeper"
        zk.mkdir(exist_ok=True)
        _write_properties(
            zk / "zoo.cfg",
            {
                "dataDir": str(self.var_dir / "zookeeper"),
                "clientPort": str(self.zookeeper_port),
                "clientPortAddress": self.host,
                "tickTime": "2000",
                "maxClientCnxns": "0",
                "admin.enableServer": "false",  # else Jetty on :8080
                "4lw.commands.whitelist": "ruok,srvr",
            },
        )
        return home

    def _jvm_flags(self, service: DruidService) -> list[str]:
        return [
            "-server",
            f"-Xms{service.heap}",
            f"-Xmx{service.heap}",
            f"-XX:MaxDirectMemorySize={service.direct}",
            "-XX:+UseSerialGC",  # small heaps, 2 cores: the least memory and threads of any collector
            "-XX:+ExitOnOutOfMemoryError",
            "-Duser.timezone=UTC",
            "-Dfile.encoding=UTF-8",
            f"-Djava.io.tmpdir={self.var_dir / 'tmp'}",
            "-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager",
            f"-Dlog4j.configurationFile={self.conf_dir / '_common' / 'log4j2.xml'}",
            f"-Ddruid.service.log={service.name}",
            *JAVA17_FLAGS,
        ]

    def _argv(self, service: DruidService, home: Path) -> list[str]:
        cp = ":".join(
            [str(self.conf_dir / "_common"), str(self.conf_dir / service.name), str(home / "lib" / "*")]
        )
        return [java_executable(), *self._jvm_flags(service), "-cp", cp, MAIN_CLASS, "server", service.name]

    def _zookeeper_argv(self, home: Path) -> list[str]:
        cp = ":".join([str(self.conf_dir / "zookeeper"), str(home / "lib" / "*")])
        return [
            java_executable(),
            f"-Xms{self.zookeeper_heap}",
            f"-Xmx{self.zookeeper_heap}",
            "-XX:+UseSerialGC",
            f"-Dlog4j.configurationFile={self.conf_dir / '_common' / 'log4j2.xml'}",
            "-Ddruid.service.log=zookeeper",
            "-Dzookeeper.admin.enableServer=false",
            "-cp",
            cp,
            ZOOKEEPER_MAIN,
            str(self.conf_dir / "zookeeper" / "zoo.cfg"),
        ]

    # --- health --------------------------------------------------------------------------------
    def zookeeper_healthy(self) -> bool:
        if self.zookeeper.pid() is None:
            return False
        return _four_letter(self.host, self.zookeeper_port, b"ruok") == b"imok"

    def service_healthy(self, service: DruidService) -> bool:
        if self._process(service.name).pid() is None:
            return False
        try:
            response = httpx.get(f"http://{self.host}:{service.port}/status/health", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.text.strip() == "true"

    def ready(self) -> bool:
        """Coordinator and overlord lead, the Indexer is a registered worker, and SQL answers."""
        try:
            with httpx.Client(timeout=5) as http:
                if http.get(f"{self.coordinator_url}/druid/coordinator/v1/isLeader").status_code != 200:
                    return False
                if http.get(f"{self.overlord_url}/druid/indexer/v1/isLeader").status_code != 200:
                    return False
                workers = http.get(f"{self.overlord_url}/druid/indexer/v1/workers")
                if workers.status_code != 200 or not any(
                    w.get("worker", {}).get("host", "").endswith(f":{self.indexer_port}")
                    for w in workers.json()
                ):
                    return False
                if http.get(f"{self.broker_url}/druid/broker/v1/readiness").status_code != 200:
                    return False
                for url in (self.broker_url, self.router_url):  # the router once it sees the broker
                    sql = http.post(f"{url}/druid/v2/sql", json={"query": "SELECT 1 AS ok"})
                    if sql.status_code != 200 or sql.json() != [{"ok": 1}]:
                        return False
                return True
        except (httpx.HTTPError, ValueError):
            return False

    def healthy(self) -> bool:
        return self.zookeeper_healthy() and all(self.service_healthy(s) for s in self.services())

    def running_pid(self) -> int | None:
        """The coordinator's PID: the cluster counts as running while its coordinator does."""
        return self._process("coordinator").pid()

    def crashed(self) -> bool:
        return self.zookeeper.crashed() or any(self._process(s.name).crashed() for s in self.services())

    def status(self) -> list[ServiceInfo]:
        """Each JVM: PID, health, endpoint and resident memory."""
        out = [
            ServiceInfo(
                "zookeeper",
                self.zookeeper.pid(),
                self.zookeeper_healthy(),
                f"{self.host}:{self.zookeeper_port}",
                _rss_mib(self.zookeeper.pid()),
                self.zookeeper.crashed(),
            )
        ]
        for service in self.services():
            process = self._process(service.name)
            out.append(
                ServiceInfo(
                    service.name,
                    process.pid(),
                    self.service_healthy(service),
                    f"http://{self.host}:{service.port}",
                    _rss_mib(process.pid()),
                    process.crashed(),
                )
            )
        return out

    # --- lifecycle -----------------------------------------------------------------------------
    def _ports(self) -> dict[str, int]:
        return {
            "zookeeper": self.zookeeper_port,
            "derby": self.derby_port,
            **{s.name: s.port for s in self.services()},
        }

    def start(self, timeout: float = 240.0) -> bool:
        """Start whatever is not running, then wait until the cluster answers SQL; True if started.

        Services start concurrently (each waits for ZooKeeper itself), which on 2 cores is
        faster than one after another: a JVM spends much of its start waiting on the others.
        """
        if self.healthy() and self.ready():
            return False
        begin = time.monotonic()
        running = {"zookeeper": self.zookeeper.pid() is not None} | {
            s.name: self._process(s.name).pid() is not None for s in self.services()
        }
        for name, port in self._ports().items():
            owner = "coordinator" if name == "derby" else name
            if not running[owner] and port_open(self.host, port):
                raise ServiceError(
                    f"port {self.host}:{port} ({name}) is taken by another program; "
                    f"set LAKEHOUSE_DRUID__{name.upper()}_PORT"
                )
        home = self._write_config()
        if not running["zookeeper"]:
            self.zookeeper.start(self._zookeeper_argv(home), cwd=self.home)
        self._wait("zookeeper", self.zookeeper_healthy, begin, min(60.0, timeout))
        for service in self.services():
            if not running[service.name]:
                self._process(service.name).start(self._argv(service, home), cwd=self.home)
        for service in self.services():
            self._wait(service.name, functools.partial(self.service_healthy, service), begin, timeout)
        self._wait("ready", self.ready, begin, timeout)
        log.info(
            "druid started",
            broker=self.broker_url,
            seconds=self.timings["ready"],
            rss_mib=round(sum(i.rss_mib or 0 for i in self.status())),
        )
        return True

    def _wait(self, name: str, check: Callable[[], bool], begin: float, timeout: float) -> None:
        remaining = timeout - (time.monotonic() - begin)
        if not wait_until(check, max(remaining, 1.0), interval=0.5):
            tails = self._log_tails()
            self.stop()
            raise ServiceError(
                f"druid {name} not healthy within {timeout:.0f}s; logs in {self.home / 'logs'}\n{tails}"
            )
        self.timings[name] = round(time.monotonic() - begin, 1)

    def _log_tails(self) -> str:
        parts = []
        for path in sorted((self.home / "logs").glob("*")):
            text = path.read_text(errors="replace")
            errors = [line for line in text.splitlines() if " ERROR " in line or "Exception:" in line]
            if errors:
                parts.append(f"--- {path.name}\n" + "\n".join(errors[-8:]))
        return "\n".join(parts)[-6000:]

    def stop(self) -> bool:
        """Stop in reverse order (Druid services first, ZooKeeper last); True if anything ran."""
        stopped = False
        for service in reversed(self.services()):
            stopped |= self._process(service.name).stop(timeout=30)
        stopped |= self.zookeeper.stop(timeout=15)
        if stopped:
            wait_until(lambda: not any(port_open(self.host, p) for p in self._ports().values()), 15)
        return stopped


def druid_settings_on_free_ports() -> DruidSettings:
    """Druid settings with every service on a free loopback port (benchmarks, side-by-side clusters)."""
    return DruidSettings(
        zookeeper_port=free_port(),
        coordinator_port=free_port(),
        broker_port=free_port(),
        historical_port=free_port(),
        indexer_port=free_port(),
        router_port=free_port(),
        derby_port=free_port(),
    )


def _write_properties(path: Path, props: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def _bytes(size: str) -> int:
    """A JVM memory size (`640m`, `1g`, `524288k`) in bytes."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    suffix = size[-1].lower()
    return int(size[:-1]) * units[suffix] if suffix in units else int(size)


def _four_letter(host: str, port: int, word: bytes) -> bytes:
    import socket

    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(word)
            return sock.recv(64)
    except OSError:
        return b""


def _rss_mib(pid: int | None) -> float | None:
    """Resident set size of a process, from /proc (None when it is not running)."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
