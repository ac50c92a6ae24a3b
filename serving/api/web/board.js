// The live board: REST for the current state, the WebSocket for what changes, SVG for history.
// No framework and no CDN: served by the API itself. The key stays in this tab's sessionStorage
// and travels only in a header (REST) and the WebSocket's first message, never in a URL.
"use strict";

const state = {
  key: sessionStorage.getItem("lakehouse-key") || "",
  game: null,
  prices: new Map(), // "market|bookmaker|selection" -> price row (with updated_at)
  arbs: new Map(), // arb_id -> window
  ws: null,
  retry: 1000,
  refresh: null,
};

const $ = (id) => document.getElementById(id);

async function api(path) {
  const response = await fetch(path, { headers: { "X-API-Key": state.key } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`${path}: ${response.status} ${body.detail || ""}`);
  }
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

const pct = (x) => (x === null || x === undefined ? "" : `${(100 * x).toFixed(2)}%`);
const priceKey = (p) => `${p.market}|${p.bookmaker}|${p.selection}`;

// ---------------------------------------------------------------- status and games
async function loadStatus() {
  try {
    const s = await api("/status?minutes=60");
    $("status").textContent = s.headline;
    $("status").className = `status ${s.status}`;
  } catch (e) {
    $("status").textContent = e.message;
    $("status").className = "status critical";
  }
}

async function loadGames() {
  const page = await api("/v1/live/games?limit=200");
  const list = $("games");
  list.replaceChildren();
  for (const g of page.items) {
    const item = el("li", { "data-game": g.game_id }, `${g.home_team} v ${g.away_team} (${g.sport})`);
    item.addEventListener("click", () => selectGame(g.game_id));
    list.append(item);
  }
  if (!state.game && page.items.length) selectGame(page.items[0].game_id);
}

// ---------------------------------------------------------------- the odds board
async function selectGame(gameId) {
  state.game = gameId;
  state.prices = new Map();
  for (const li of $("games").children) li.classList.toggle("selected", li.dataset.game === gameId);
  await loadBoard();
  connect();
}

async function loadBoard() {
  if (!state.game) return;
  const board = await api(`/v1/games/${encodeURIComponent(state.game)}/board`);
  for (const p of board.prices) {
    const held = state.prices.get(priceKey(p));
    if (!held || String(held.updated_at) <= String(p.updated_at)) state.prices.set(priceKey(p), p);
  }
  $("board-title").textContent = `${board.home_team} v ${board.away_team}`;
  $("board-meta").textContent = `${board.sport} · kick-off ${board.commence_time} · as of ${board.as_of}`;
  renderBoard(board.lines);
}

function renderBoard(lines) {
  const markets = new Map();
  for (const p of state.prices.values()) {
    if (!markets.has(p.market)) markets.set(p.market, []);
    markets.get(p.market).push(p);
  }
  const holder = $("board");
  holder.replaceChildren();
  for (const [market, prices] of [...markets.entries()].sort()) {
    const books = [...new Set(prices.map((p) => p.bookmaker))].sort();
    const selections = [...new Set(prices.map((p) => p.selection))].sort();
    const table = el("table", { "data-market": market });
    table.append(el("caption", {}, market));
    table.append(el("tr", {}, el("th", {}, "selection"), ...books.map((b) => el("th", {}, b))));
    const line = (lines || []).find((l) => l.market === market);
    for (const s of selections) {
      const row = el("tr", {}, el("td", {}, s));
      for (const b of books) {
        const p = state.prices.get(`${market}|${b}|${s}`);
        const cell = el("td", { "data-key": `${market}|${b}|${s}` }, p ? p.price.toFixed(2) : "");
        if (p && line && line.best_bookmakers[s] === b) cell.classList.add("best");
        if (p) cell.title = `stale ${p.stale_s ?? "?"} s, point ${p.point ?? "-"}`;
        row.append(cell);
      }
      if (line && line.fair_prob_shin) row.append(el("td", { class: "fair" }, `fair ${pct(line.fair_prob_shin[s])}`));
      table.append(row);
    }
    if (line) {
      table.append(el("tr", {}, el("td", {}, "margin"), ...books.map((b) => el("td", {}, pct(line.margins[b])))));
    }
    holder.append(table);
  }
}

function applyPrice(record) {
  const key = priceKey(record);
  const held = state.prices.get(key);
  if (held && String(held.updated_at) > String(record.updated_at)) return;
  state.prices.set(key, record);
  const cell = document.querySelector(`td[data-key="${CSS.escape(key)}"]`);
  if (!cell) {
    renderBoard(null);
  } else {
    cell.textContent = Number(record.price).toFixed(2);
    cell.classList.remove("flash");
    void cell.offsetWidth; // restart the animation
    cell.classList.add("flash");
  }
  clearTimeout(state.refresh); // best prices, consensus and margins: from the API, shortly after
  state.refresh = setTimeout(loadBoard, 3000);
}

// ---------------------------------------------------------------- arbitrage radar
function applyArb(w) {
  if (w.retracted) state.arbs.delete(w.arb_id);
  else state.arbs.set(w.arb_id, w);
  const rows = [...state.arbs.values()].sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  $("arbs").tBodies[0].replaceChildren(
    ...rows.slice(0, 50).map((w) =>
      el(
        "tr",
        { "data-arb": w.arb_id },
        el("td", {}, w.game_id),
        el("td", {}, w.market),
        el("td", {}, w.point ?? ""),
        el("td", {}, w.status),
        el("td", {}, pct(w.guaranteed_return)),
        el("td", {}, (w.bookmakers || []).join(", ")),
        el("td", {}, String(w.updated_at).slice(11, 19)),
      ),
    ),
  );
}

// ---------------------------------------------------------------- the WebSocket
function connect() {
  if (state.ws) {
    state.ws.onclose = null;
    state.ws.close();
  }
  const channels = ["arbitrage", "health"];
  if (state.game) channels.push(`game:${state.game}`);
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`);
  state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ key: state.key, subscribe: channels }));
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "snapshot") {
      state.retry = 1000;
      document.body.dataset.live = "yes";
      for (const w of message.channels.arbitrage || []) applyArb(w);
      return;
    }
    for (const u of message.updates) {
      if (u.aggregate === "market_prices_live" && u.record.game_id === state.game) applyPrice(u.record);
      else if (u.aggregate === "arbitrage_opportunities") applyArb(u.record);
    }
  };
  ws.onclose = (event) => {
    document.body.dataset.live = "no";
    if (event.code === 4401) {
      $("status").textContent = "The key was refused";
      return;
    }
    setTimeout(connect, state.retry); // resume: a new snapshot, then updates
    state.retry = Math.min(30000, state.retry * 2);
  };
}

// ---------------------------------------------------------------- history charts (SVG)
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

function lineChart(svg, series, { xs = null, yFormat = (y) => y.toFixed(2), diagonal = false } = {}) {
  const W = 640, H = 260, L = 48, R = 130, T = 10, B = 28;
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  svg.replaceChildren();
  const points = series.flatMap((s) => s.points);
  if (!points.length) {
    node("text", { x: L, y: H / 2 }, "no data");
    return;
  }
  const xsOf = (p) => (xs ? xs.indexOf(p[0]) : p[0]);
  const xv = points.map(xsOf), yv = points.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xv), Math.max(...xv), Math.min(...yv), Math.max(...yv)];
  if (diagonal) [x0, x1, y0, y1] = [0, 1, 0, 1];
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  node("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" });
  node("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" });
  node("text", { x: 2, y: T + 8 }, yFormat(y1));
  node("text", { x: 2, y: H - B }, yFormat(y0));
  node("text", { x: L, y: H - 8 }, xs ? xs[0] : x0.toFixed(2));
  node("text", { x: W - R - 40, y: H - 8 }, xs ? xs[xs.length - 1] : x1.toFixed(2));
  if (diagonal) node("line", { x1: sx(0), y1: sy(0), x2: sx(1), y2: sy(1), stroke: "#bbb", "stroke-dasharray": "4" });
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(xsOf(p)).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
    node("path", { d, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 1.5, "data-series": s.name });
    node("text", { x: W - R + 6, y: T + 12 * (i + 1), fill: COLOURS[i % COLOURS.length] }, s.name);
  });
}

function group(rows, key, x, y) {
  const out = new Map();
  for (const r of rows) {
    if (!out.has(r[key])) out.set(r[key], []);
    out.get(r[key]).push([r[x], r[y]]);
  }
  return [...out.entries()].map(([name, points]) => ({ name, points }));
}

async function all(path) {
  let rows = [], offset = 0;
  while (offset !== null) {
    const page = await api(`${path}${path.includes("?") ? "&" : "?"}limit=1000&offset=${offset}`);
    rows = rows.concat(page.items);
    offset = page.next_offset;
  }
  return rows;
}

async function loadHistory() {
  const margins = await all("/v1/history/bookmaker-margins?league=E0&market=h2h&phase=closing");
  const seasons = [...new Set(margins.map((r) => r.season))].sort();
  const books = group(margins, "bookmaker", "season", "mean_margin")
    .filter((s) => s.points.length > 3)
    .slice(0, 8);
  books.forEach((s) => s.points.sort((a, b) => a[0].localeCompare(b[0])));
  lineChart($("chart-margins"), books, { xs: seasons, yFormat: pct });
  const latest = seasons[seasons.length - 1];
  const elo = await all(`/v1/history/elo?league=E0&season=${encodeURIComponent(latest)}`);
  // x: the team's match of the season (1, 2, ...), in date order
  elo.sort((a, b) => String(a.match_date).localeCompare(String(b.match_date)));
  const seen = new Map();
  const numbered = elo.map((r) => {
    seen.set(r.team_id, (seen.get(r.team_id) || 0) + 1);
    return { ...r, match_of_season: seen.get(r.team_id) };
  });
  lineChart($("chart-elo"), group(numbered, "team_id", "match_of_season", "elo_post").slice(0, 8), {
    yFormat: (y) => y.toFixed(0),
  });
  const calibration = await all("/v1/history/calibration?phase=closing");
  lineChart(
    $("chart-calibration"),
    group(calibration, "bookmaker", "mean_fair_probability", "realised_win_rate").slice(0, 6),
    { diagonal: true, yFormat: pct },
  );
  document.body.dataset.history = "loaded";
}

// ---------------------------------------------------------------- start
async function start() {
  $("key").value = state.key ? "********" : "";
  if (!state.key) return;
  await loadStatus();
  setInterval(loadStatus, 15000);
  await loadGames();
  if (!state.game) connect();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const typed = $("key").value.trim();
  if (typed && typed !== "********") {
    state.key = typed;
    sessionStorage.setItem("lakehouse-key", typed);
  }
  start().catch((e) => ($("status").textContent = e.message));
});
$("load-history").addEventListener("click", () =>
  loadHistory().catch((e) => ($("status").textContent = e.message)),
);
start().catch((e) => ($("status").textContent = e.message));
