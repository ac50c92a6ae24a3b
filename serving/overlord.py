"""Kafka supervisors on the Druid Overlord: apply specs idempotently, inspect, suspend, terminate.

`apply` posts a spec only when it differs from the running one, so running it on every
`stack up` restarts no ingestion task. The Overlord answers `GET .../supervisor/<id>` with the
spec as it parsed it: every default filled in and some values respelt (`PT10M` as `PT600S`),
so "the same" means every value we set is what Druid holds, durations compared in seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from lakehouse.log import get_logger

log = get_logger(__name__)

API = "/druid/indexer/v1/supervisor"
Outcome = Literal["created", "updated", "unchanged"]
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


class OverlordError(RuntimeError):
    """The Overlord refused a request or could not be reached; the message carries its answer."""


@dataclass(frozen=True)
class SupervisorState:
    id: str
    state: str  # PENDING, RUNNING, SUSPENDED, UNHEALTHY_SUPERVISOR, UNHEALTHY_TASKS, ...
    detailed_state: str
    healthy: bool
    suspended: bool
    active_tasks: int = 0
    aggregate_lag: int | None = None
    recent_errors: tuple[str, ...] = ()


def _normalise(value: Any) -> Any:
    """ISO-8601 durations in seconds, so `PT10M` equals the Overlord's `PT600S`."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            hours, minutes, seconds = match.groups()
            return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return value


def same_spec(desired: Any, running: Any) -> bool:
    """True if every value set in `desired` is what `running` holds (extra defaults ignored).

    Lists must match element by element and in length: a dimension removed or reordered is a
    change, a default Druid added to a dimension is not.
    """
    if isinstance(desired, dict):
        return isinstance(running, dict) and all(
            key in running and same_spec(value, running[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(running, list)
            and len(desired) == len(running)
            and all(same_spec(d, r) for d, r in zip(desired, running, strict=True))
        )
    return _normalise(desired) == _normalise(running)


def supervisor_id(spec: dict[str, Any]) -> str:
    """A Kafka supervisor's id is its datasource."""
    return spec.get("id") or spec["spec"]["dataSchema"]["dataSource"]


class Overlord:
    """A small client of the Overlord's supervisor API (the coordinator's port when combined)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Overlord:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise OverlordError(f"{method} {self.url}{path} failed: {exc}; is Druid running?") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise OverlordError(
                f"{method} {self.url}{path} -> HTTP {response.status_code}: {response.text[:2000]}"
            )
        return response

    # --- reading ---------------------------------------------------------------------------
    def ids(self) -> list[str]:
        """Ids of the supervisors the Overlord runs (terminated ones are gone)."""
        return sorted(self._request("GET", API).json())

    def spec(self, supervisor: str) -> dict[str, Any] | None:
        """The running spec as Druid holds it, or None if there is no such supervisor."""
        response = self._request("GET", f"{API}/{supervisor}")
        return None if response.status_code == 404 else response.json()

    def state(self, supervisor: str) -> SupervisorState:
        response = self._request("GET", f"{API}/{supervisor}/status")
        if response.status_code == 404:
            raise OverlordError(f"no supervisor {supervisor!r} on {self.url}")
        payload = response.json()["payload"]
        return SupervisorState(
            id=supervisor,
            state=payload["state"],
            detailed_state=payload.get("detailedState", payload["state"]),
            healthy=bool(payload.get("healthy")),
            suspended=bool(payload.get("suspended")),
            active_tasks=len(payload.get("activeTasks") or []),
            aggregate_lag=payload.get("aggregateLag"),
            recent_errors=tuple(
                str(e.get("exceptionClass") or e.get("message") or e)
                for e in payload.get("recentErrors") or []
            ),
        )

    def states(self) -> list[SupervisorState]:
        return [self.state(i) for i in self.ids()]

    # --- writing ---------------------------------------------------------------------------
    def apply(self, spec: dict[str, Any]) -> Outcome:
        """Create or update one supervisor; post nothing when the running spec already matches."""
        supervisor = supervisor_id(spec)
        running = self.spec(supervisor)
        if running is not None and same_spec(spec, running):
            return "unchanged"
        self._request("POST", API, json=spec)
        outcome: Outcome = "created" if running is None else "updated"
        log.info("druid supervisor applied", supervisor=supervisor, outcome=outcome)
        return outcome

    def apply_all(self, specs: Iterable[dict[str, Any]]) -> dict[str, Outcome]:
        return {supervisor_id(s): self.apply(s) for s in specs}

    def suspend(self, supervisor: str) -> None:
        self._post_action(supervisor, "suspend")

    def resume(self, supervisor: str) -> None:
        self._post_action(supervisor, "resume")

    def terminate(self, supervisor: str) -> None:
        """Stop the supervisor and its tasks (published segments stay queryable)."""
        self._post_action(supervisor, "terminate")

    def _post_action(self, supervisor: str, action: str) -> None:
        response = self._request("POST", f"{API}/{supervisor}/{action}")
        if response.status_code == 404:
            raise OverlordError(f"cannot {action} {supervisor!r}: no such supervisor on {self.url}")

    def wait_running(self, supervisor: str, timeout: float = 120.0) -> SupervisorState:
        """Wait until the supervisor is RUNNING with a reading task; raise with its errors if not."""
        return self.wait_state(supervisor, "RUNNING", timeout)

    def wait_state(self, supervisor: str, wanted: str, timeout: float = 120.0) -> SupervisorState:
        """Wait for a state (suspend, resume and updates take effect asynchronously).

        RUNNING also needs a task reading, so a just-updated supervisor whose new task has not
        started yet does not count.
        """
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.state(supervisor)
            if state.state == wanted and (wanted != "RUNNING" or state.active_tasks > 0):
                return state
            time.sleep(0.5)
        errors = f"; errors: {', '.join(state.recent_errors[-3:])}" if state and state.recent_errors else ""
        raise OverlordError(
            f"supervisor {supervisor!r} not {wanted} within {timeout:.0f}s: "
            f"{state.detailed_state if state else 'no status'}{errors}"
        )
