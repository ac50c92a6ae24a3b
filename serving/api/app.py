"""The query and ingestion API (FastAPI): live data from Druid, history from the warehouse,
partner feeds into Kafka.  OpenAPI at ``/docs`` and ``/openapi.json``.

Conventions (README, API):
- every route but ``/healthz`` and the docs needs an API key (``X-API-Key``, or
  ``Authorization: Bearer <key>``) with the route's scope: 401 without a known key, 403 without
  the scope, 429 with ``Retry-After`` over the key's rate;
- lists are pages: ``limit`` (default and maximum in the settings; more is a 422) and
  ``offset``; the answer is ``{"items", "limit", "offset", "total", "next_offset"}`` in a stable
  order, ``next_offset`` null on the last page;
- a request body over ``max_body_bytes`` is a 413; errors are ``{"detail": "<one line>"}``.

The app is built from its parts (``create_app``), so tests and the CLI wire the same code to
real or local engines: Druid for ``LiveStore``, the warehouse for ``HistoryStore``, Kafka for
``IngestSink`` (the producers' publisher, wired by ``cli``).
"""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakehouse.config import ApiSettings
from lakehouse.log import get_logger
from lakehouse.schemas import EVENT_TYPES, SchemaValidationError, validate
from serving.api.answers import Answers, answer_key
from serving.api.history import GAMES, MARTS, HistoryStore, page
from serving.api.keys import ApiKey, KeyRing, RateLimits
from serving.api.live import LiveStore
from serving.api.push import Fanout, valid_channel
from serving.api.status import report
from serving.api.summary import Summariser
from serving.api.xml_records import XmlRecordsError, parse_records
from serving.overlord import OverlordError, SupervisorState
from serving.query import DruidQueryError

log = get_logger(__name__)

XML_TYPES = ("application/xml", "text/xml")
LIVE_ANSWERS = re.compile(r"/v1/(games/[^/]+/board|arbitrage)")
"""The routes whose answers are kept (``Answers``) and served early (``KeptAnswers``)."""
JSON = "application/json"
WEB = FilePath(__file__).parent / "web"
"""The live board's page, script and styles (written here; no CDN)."""


class IngestSink(Protocol):
    """Where accepted partner records go (Kafka through the producers' idempotent publisher)."""

    def publish(self, feed: str, records: list[dict[str, Any]]) -> None: ...

    def dead_letter(self, feed: str, reason: str, raw: Any, source: str) -> None: ...

    def confirm(self, timeout_s: float) -> int:
        """Wait for Kafka's acknowledgement of everything sent; the count still undelivered."""
        ...


class Supervisors(Protocol):
    """Druid's ingestion state (``serving.overlord.Overlord``)."""

    def states(self) -> list[SupervisorState]: ...


@dataclass
class Parts:
    settings: ApiSettings
    keys: KeyRing
    live: LiveStore
    history: HistoryStore
    sink: IngestSink
    fanout: Fanout | None = None  # WebSocket push (/v1/stream); started and stopped with the app
    summariser: Summariser | None = None  # a language model's wording of /status (off by default)
    ingestion: Supervisors | None = None  # Druid's Kafka supervisors, for /status (the Overlord)


def _page(items: list[dict[str, Any]], limit: int, offset: int, total: int) -> dict[str, Any]:
    nxt = offset + limit if offset + limit < total else None
    return {"items": items, "limit": limit, "offset": offset, "total": total, "next_offset": nxt}


def _json(value: Any) -> Any:
    """Rows from Druid and the warehouse with dates and decimals as JSON can carry them."""
    return json.loads(json.dumps(value, default=str))


def create_app(parts: Parts) -> FastAPI:
    api = parts.settings
    limits = RateLimits({"read": api.rate_per_minute, "ingest": api.ingest_rate_per_minute})
    answers = Answers(api.live_cache_ms / 1000)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if parts.fanout is not None:
            parts.fanout.start()
        try:
            yield
        finally:
            if parts.fanout is not None:
                parts.fanout.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Betting lakehouse API",
        version="1",
        description="Live odds, arbitrage and line movement from Druid; history from the warehouse; "
        "partner feeds into Kafka. Send your key as `X-API-Key`.",
    )

    def authorize(headers: Headers, scope: str) -> ApiKey:
        """The caller's key, if it is known, has ``scope`` and is within its rate; else the
        HTTPException to answer with.  The one check of both routes and kept answers."""
        presented = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if presented is None and auth.lower().startswith("bearer "):
            presented = auth[7:].strip()
        key = parts.keys.find(presented) if presented else None
        if key is None:
            raise HTTPException(401, "an API key is required (X-API-Key)", {"WWW-Authenticate": "Bearer"})
        if scope not in key.scopes:
            raise HTTPException(403, f"key {key.name!r} lacks the {scope!r} scope")
        wait = limits.hit(scope, key.name)
        if wait is not None:
            raise HTTPException(429, f"rate limit of key {key.name!r} reached", {"Retry-After": str(wait)})
        return key

    def caller(scope: str) -> Callable[[Request], Awaitable[ApiKey]]:
        # async: a hash and a dictionary lookup, cheaper on the event loop than in a worker thread
        async def check(request: Request) -> ApiKey:
            key = authorize(request.headers, scope)
            request.state.key = key.name
            return key

        return check

    # Added first, so innermost: CORS and the request log see kept answers as any other.
    app.add_middleware(KeptAnswers, answers=answers, authorize=authorize)
    app.state.answers = answers
    if api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=api.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
        )

    app.add_middleware(BodyLimitAndLog, max_body_bytes=api.max_body_bytes)

    reader = Depends(caller("read"))
    ingester = Depends(caller("ingest"))
    Limit = Annotated[int, Query(ge=1, le=api.max_page_size, description="page size")]
    Offset = Annotated[int, Query(ge=0, description="rows to skip")]

    @app.exception_handler(DruidQueryError)
    async def druid_down(_request: Request, exc: DruidQueryError) -> JSONResponse:
        log.error("live store failed", error=str(exc).splitlines()[0])
        return JSONResponse({"detail": "the live store (Druid) did not answer; try again shortly"}, 503)

    @app.exception_handler(FileNotFoundError)
    async def no_warehouse(_request: Request, exc: FileNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc).splitlines()[0]}, 503)

    app.mount("/board", StaticFiles(directory=WEB, html=True), name="board")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/board/")

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/games", tags=["live"], dependencies=[reader])
    def games(
        competition: str | None = None,
        status: str | None = None,
        day: Annotated[date | None, Query(alias="date", description="kick-off date (UTC)")] = None,
        limit: Limit = api.page_size,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Games with the latest status and score the game feed (ESPN, the simulator) reported."""
        filters = {k: v for k, v in {"competition": competition, "status": status}.items() if v is not None}
        extra = ("cast(kickoff_at as date) = ?", [day]) if day else None
        rows, total = page(parts.history, GAMES, filters, limit, offset, extra)
        return _json(_page(rows, limit, offset, total))

    @app.get("/v1/live/games", tags=["live"], dependencies=[reader])
    def live_games(
        sport: str | None = None,
        since_minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 24 * 60,
        limit: Limit = api.page_size,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Games with live prices in Druid, by kick-off: the games the board can show."""
        found = parts.live.games(datetime.now(UTC) - timedelta(minutes=since_minutes), sport)
        return _json(_page(found[offset : offset + limit], limit, offset, len(found)))

    @app.get("/v1/games/{game_id}/board", tags=["live"], dependencies=[reader])
    async def board(
        request: Request, game_id: Annotated[str, Path(min_length=1, max_length=200)]
    ) -> Response:
        """Latest price per bookmaker and selection (with staleness), best prices, consensus fair
        probabilities and margins per complete line."""
        found = await answers.aget(answer_key(request.scope), lambda: parts.live.board(game_id))
        if found is None:
            raise HTTPException(404, f"no live prices for game {game_id!r}")
        return Response(found, media_type=JSON)

    @app.get("/v1/games/{game_id}/movement", tags=["live"], dependencies=[reader])
    def movement(
        game_id: Annotated[str, Path(min_length=1, max_length=200)],
        market: str | None = None,
        limit: Limit = api.page_size,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """One-minute bars of a game's prices, oldest first."""
        bars = parts.live.movement(game_id, market)
        return _json(_page(bars[offset : offset + limit], limit, offset, len(bars)))

    @app.get("/v1/arbitrage", tags=["live"], dependencies=[reader])
    async def arbitrage(
        request: Request,
        status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
        min_return: Annotated[float | None, Query(ge=-1.0, le=10.0)] = None,
        bookmaker: str | None = None,
        sport: str | None = None,
        since_minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 24 * 60,
        limit: Limit = api.page_size,
        offset: Offset = 0,
    ) -> Response:
        """Arbitrage windows changed in the last ``since_minutes``, newest first."""

        def build() -> dict[str, Any]:
            since = datetime.now(UTC) - timedelta(minutes=since_minutes)
            windows = parts.live.arbitrage(since, status, min_return, bookmaker, sport)
            return _page(windows[offset : offset + limit], limit, offset, len(windows))

        return Response(await answers.aget(answer_key(request.scope), build), media_type=JSON)

    @app.get("/v1/history/{mart}", tags=["history"], dependencies=[reader])
    def history(
        request: Request,
        mart: Annotated[str, Path(description=", ".join(MARTS))],
        limit: Limit = api.page_size,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """An analysts' mart from the warehouse; any of its filter columns as equality filters."""
        if mart not in MARTS:
            raise HTTPException(404, f"unknown mart {mart!r}; known: {', '.join(MARTS)}")
        filters = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
        try:
            rows, total = page(parts.history, MARTS[mart], filters, limit, offset)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return _json(_page(rows, limit, offset, total))

    @app.get("/status", tags=["service"], dependencies=[reader])
    def status(minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60) -> dict[str, Any]:
        """Pipeline health in plain language, the first thing to look at in the headline: the
        components' health samples and Druid's ingestion (each supervisor's state and lag)."""
        samples = parts.live.health(datetime.now(UTC) - timedelta(minutes=minutes))
        supervisors, overlord_error = None, None
        if parts.ingestion is not None:
            try:
                supervisors = parts.ingestion.states()
            except OverlordError as exc:
                overlord_error = str(exc).splitlines()[0][:300]
        found = report(samples, supervisors=supervisors, overlord_error=overlord_error)
        if parts.summariser is not None:
            try:
                found["summary"] = parts.summariser.summarise(found)
            except Exception as exc:  # the summary is optional: the rules' report still answers
                found["summary"], found["summary_error"] = None, f"{type(exc).__name__}: {str(exc)[:200]}"
                log.warning("status summary failed", error=found["summary_error"])
        return _json(found)

    @app.post("/v1/ingest/{feed}", tags=["ingest"], dependencies=[ingester])
    async def ingest(request: Request, feed: str) -> JSONResponse:
        """Records of one feed as a JSON object or array, or an XML ``<records>`` document
        (``Content-Type: application/xml``).  Each record is validated with the shared schema;
        valid ones are published (and acknowledged by Kafka before this answers), invalid ones
        go to the feed's dead-letter topic.  200 when all were accepted, 422 when any was not,
        with a result per record."""
        if feed not in EVENT_TYPES:
            raise HTTPException(404, f"unknown feed {feed!r}; known: {', '.join(sorted(EVENT_TYPES))}")
        body = await _read_capped(request, api.max_body_bytes)
        source = f"api:{request.state.key}"
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        try:
            if kind in XML_TYPES:
                records: list[Any] = parse_records(body, EVENT_TYPES[feed].fields)
            else:
                parsed = json.loads(body)
                records = parsed if isinstance(parsed, list) else [parsed]
        except (XmlRecordsError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, XmlRecordsError) else f"body is not JSON: {exc}"
            parts.sink.dead_letter(feed, reason, body.decode("utf-8", errors="replace"), source)
            parts.sink.confirm(10.0)
            raise HTTPException(400, reason) from None
        if len(records) > api.max_records:
            raise HTTPException(413, f"{len(records)} records in one request; at most {api.max_records}")
        results: list[dict[str, Any]] = []
        valid: list[dict[str, Any]] = []
        for i, raw in enumerate(records):
            try:
                record = validate(feed, raw)
            except SchemaValidationError as exc:
                parts.sink.dead_letter(feed, str(exc), raw, source)
                results.append({"index": i, "status": "rejected", "reason": str(exc)})
                continue
            valid.append(record)
            results.append({"index": i, "status": "accepted", "event_id": record["event_id"]})
        if valid:
            parts.sink.publish(feed, valid)
        undelivered = parts.sink.confirm(30.0)
        if undelivered:
            raise HTTPException(503, f"Kafka did not acknowledge {undelivered} records; send them again")
        accepted = len(valid)
        body_out = {
            "feed": feed,
            "accepted": accepted,
            "rejected": len(records) - accepted,
            "results": results,
        }
        return JSONResponse(body_out, status_code=200 if accepted == len(records) else 422)

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        """Push: send ``{"key": "<api key>", "subscribe": ["game:<id>", "sport:<sport>", "arbitrage",
        "health"]}`` first (a key never travels in the URL); the answer is a snapshot of each
        channel's current state, then ``updates`` messages with the latest record per key.  A
        client too slow to keep up is closed with code 4008 and resumes from a snapshot."""
        await ws.accept()
        try:
            hello = await asyncio.wait_for(ws.receive_json(), 10)
        except (TimeoutError, ValueError, WebSocketDisconnect):
            await ws.close(code=4400, reason="send {key, subscribe} first")
            return
        key = parts.keys.find(str(hello.get("key", ""))) if isinstance(hello, dict) else None
        if key is None or "read" not in key.scopes:
            await ws.close(code=4401, reason="an API key with the read scope is required")
            return
        channels = hello.get("subscribe") or []
        if (
            parts.fanout is None
            or not isinstance(channels, list)
            or not all(isinstance(c, str) and valid_channel(c) for c in channels)
        ):
            await ws.close(code=4422, reason="subscribe: game:<id>, sport:<sport>, arbitrage or health")
            return
        sub = parts.fanout.subscribe(channels, asyncio.get_running_loop())
        try:
            await ws.send_json({"type": "snapshot", "channels": await run_in_threadpool(_snapshot, channels)})
            while True:
                await sub.event.wait()
                sub.event.clear()
                if sub.dropped:
                    await ws.close(code=4008, reason="too slow: reconnect to resume from a snapshot")
                    return
                updates = sub.take()
                if updates:
                    await ws.send_json({"type": "updates", "updates": _json(updates)})
        except WebSocketDisconnect:
            pass
        finally:
            parts.fanout.unsubscribe(sub)

    def _snapshot(channels: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for channel in channels:
            kind, _, name = channel.partition(":")
            if kind == "game":
                out[channel] = parts.live.board(name)
            elif channel == "arbitrage":
                out[channel] = parts.live.arbitrage(datetime.now(UTC) - timedelta(hours=1), status="open")
            else:
                out[channel] = None  # sport and health: updates only
        return _json(out)

    return app


class KeptAnswers:
    """A kept answer of a live endpoint (board, arbitrage) served before routing: the key is
    checked as on the route (``authorize``: scope and rate), then the kept bytes are sent.

    A request reaches here with the same path and query as one the route validated and answered
    (answers are kept by ``answer_key``), so skipping the framework's parsing and dependency
    solving changes nothing but the cost: a hit is the common case of many clients polling a game,
    and routing it through FastAPI took 40% of the CPU of a request (bench.api).  A miss, a
    404 answer or any other route goes on to the app.
    """

    def __init__(self, app: ASGIApp, answers: Answers, authorize: Callable[[Headers, str], ApiKey]) -> None:
        self.app = app
        self.answers = answers
        self.authorize = authorize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and LIVE_ANSWERS.fullmatch(scope["path"]):
            body = self.answers.peek(answer_key(scope))
            if body is not None:
                response: Response
                try:
                    self.authorize(Headers(scope=scope), "read")
                except HTTPException as exc:
                    response = JSONResponse({"detail": exc.detail}, exc.status_code, exc.headers)
                else:
                    response = Response(body, media_type=JSON)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitAndLog:
    """A request declaring a body over the cap gets a 413 before anything reads it; every request
    is logged with its status and time.  Plain ASGI (not ``BaseHTTPMiddleware``, which costs a
    task and a stream per request: a third of a cached board read)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            refused = JSONResponse({"detail": f"request body over {self.max_body_bytes} bytes"}, 413)
            await refused(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "api request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


async def _read_capped(request: Request, cap: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``cap`` (a chunked upload has no length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(413, f"request body over {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
