// Live traffic: history from /console/api/live/history, then every finished turn from the SSE feed.

(() => {
  const HOUR = 3600_000;
  const MAX_ROWS = 500;
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
  const tbody = document.querySelector("#live tbody");
  const status = document.getElementById("live-status");
  const form = document.getElementById("live-filter");
  const turns = [];

  const filter = () => {
    const f = new FormData(form);
    return {
      agent: f.get("agent") || "",
      platform: String(f.get("platform") || "")
        .trim()
        .toLowerCase(),
      outcome: f.get("outcome") || "",
      text: String(f.get("text") || "")
        .trim()
        .toLowerCase(),
    };
  };
  const matches = (t, f) =>
    (!f.agent || t.agentId === f.agent) &&
    (!f.platform || t.platform.toLowerCase().includes(f.platform)) &&
    (!f.outcome || t.outcome === f.outcome) &&
    (!f.text || `${t.sessionId} ${t.sessionKey ?? ""} ${t.account ?? ""}`.toLowerCase().includes(f.text));

  const cell = (text, cls) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  };
  const row = (t) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = t.agentId;
    tr.dataset.turn = t.turnId;
    const when = new Date(t.at);
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = when.toISOString().slice(11, 19);
    tr.append(
      th,
      cell(t.agentId),
      cell(`${t.platform}${t.account ? ` / ${t.account}` : ""}`),
      cell(t.sessionKey ?? t.sessionId),
      cell(`${t.latencyMs} ms`, "num"),
      cell(`${t.inputTokens} / ${t.outputTokens}`, "num"),
    );
    const outcome = cell(t.outcome, `outcome outcome-${t.outcome}`);
    if (t.error) outcome.title = t.error;
    tr.append(outcome);
    return tr;
  };
  const renderTable = () => {
    const f = filter();
    const rows = [];
    for (let i = turns.length - 1; i >= 0 && rows.length < MAX_ROWS; i--)
      if (matches(turns[i], f)) rows.push(row(turns[i]));
    tbody.replaceChildren(...rows);
  };

  // --- charts (uPlot, served from the console package) ---
  let turnChart;
  let latencyChart;
  let turnAgents = "";
  const minutes = () => {
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const xs = [];
    for (let m = now - 59 * 60_000; m <= now; m += 60_000) xs.push(m);
    return xs;
  };
  const pct = (sorted, p) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
  // The current minute is still filling: leave room after it so its point is drawn whole.
  const xRange = (_u, min, max) => [min, max + 60];
  const size = (el) => ({ width: Math.max(260, el.clientWidth - 4), height: 200 });
  const buildData = () => {
    const f = filter();
    const xs = minutes();
    const start = xs[0];
    const shown = turns.filter((t) => t.at >= start && matches(t, f));
    const agents = [...new Set(shown.map((t) => t.agentId))].sort();
    if (agents.length === 0) agents.push(f.agent || "all");
    const counts = agents.map(() => xs.map(() => 0));
    const lat = xs.map(() => []);
    for (const t of shown) {
      const i = Math.min(59, Math.floor((t.at - start) / 60_000));
      const a = agents.indexOf(t.agentId);
      if (a >= 0) counts[a][i]++;
      lat[i].push(t.latencyMs);
    }
    const p50 = lat.map((l) =>
      pct(
        l.sort((a, b) => a - b),
        0.5,
      ),
    );
    const p95 = lat.map((l) => pct(l, 0.95));
    return { xs: xs.map((x) => x / 1000), agents, counts, p50, p95 };
  };
  const renderCharts = () => {
    if (typeof uPlot === "undefined") return;
    const d = buildData();
    const turnsEl = document.getElementById("chart-turns");
    const latEl = document.getElementById("chart-latency");
    const key = d.agents.join(",");
    if (!turnChart || key !== turnAgents) {
      turnChart?.destroy();
      turnAgents = key;
      turnChart = new uPlot(
        {
          ...size(turnsEl),
          scales: {
            x: { time: true, range: xRange },
            y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
          },
          series: [
            {},
            ...d.agents.map((a, i) => ({ label: a, stroke: COLORS[i % COLORS.length], width: 2 })),
          ],
          axes: [{}, { label: "turns/min" }],
        },
        [d.xs, ...d.counts],
        turnsEl,
      );
    } else turnChart.setData([d.xs, ...d.counts]);
    if (!latencyChart) {
      latencyChart = new uPlot(
        {
          ...size(latEl),
          scales: {
            x: { time: true, range: xRange },
            y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
          },
          series: [
            {},
            {
              label: "p50",
              stroke: COLORS[0],
              width: 2,
              spanGaps: true,
              points: { show: true, size: 7, fill: COLORS[0] },
            },
            {
              label: "p95",
              stroke: COLORS[1],
              width: 2,
              spanGaps: true,
              points: { show: true, size: 7, fill: COLORS[1] },
            },
          ],
          axes: [{}, { label: "ms" }],
        },
        [d.xs, d.p50, d.p95],
        latEl,
      );
    } else latencyChart.setData([d.xs, d.p50, d.p95]);
  };
  /** Per agent over the last hour: turns, p50 / p95 latency, errors (the platform filters apply). */
  const renderAgents = () => {
    const f = { ...filter(), agent: "" };
    const since = Date.now() - HOUR;
    const by = new Map();
    for (const t of turns) {
      if (t.at < since || !matches(t, f)) continue;
      const a = by.get(t.agentId) ?? { n: 0, errors: 0, lat: [] };
      a.n++;
      if (t.outcome !== "ok") a.errors++;
      a.lat.push(t.latencyMs);
      by.set(t.agentId, a);
    }
    const rows = [...by.entries()]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([agent, a]) => {
        a.lat.sort((x, y) => x - y);
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = agent;
        tr.append(
          th,
          cell(String(a.n), "num"),
          cell(`${pct(a.lat, 0.5)} ms`, "num"),
          cell(`${pct(a.lat, 0.95)} ms`, "num"),
          cell(String(a.errors), "num"),
        );
        return tr;
      });
    document.querySelector("#live-agents tbody").replaceChildren(...rows);
  };
  let pending = 0;
  const redrawSoon = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = 0;
      renderCharts();
      renderAgents();
    }, 250);
  };
  window.addEventListener("resize", () => {
    for (const [chart, id] of [
      [turnChart, "chart-turns"],
      [latencyChart, "chart-latency"],
    ])
      chart?.setSize(size(document.getElementById(id)));
  });
  form.addEventListener("input", () => {
    renderTable();
    renderCharts();
    renderAgents();
  });
  form.addEventListener("submit", (e) => e.preventDefault());

  const add = (t) => {
    turns.push(t);
    while (turns.length && turns[0].at < Date.now() - HOUR) turns.shift();
    if (matches(t, filter())) {
      tbody.prepend(row(t));
      while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
    }
    redrawSoon();
  };

  const connect = () => {
    const es = new EventSource("/console/api/live/events");
    es.addEventListener("ready", () => {
      status.textContent = "Live: new turns appear as they finish.";
    });
    es.addEventListener("turn", (e) => add(JSON.parse(e.data)));
    es.onerror = () => {
      status.textContent = "Disconnected; reconnecting…";
    };
  };

  fetch("/console/api/live/history", { credentials: "same-origin" })
    .then((r) => r.json())
    .then((h) => {
      turns.push(...h.turns);
      renderTable();
      renderCharts();
      renderAgents();
    })
    .catch(() => {
      status.textContent = "Could not load the last hour.";
    })
    .finally(connect);
  setInterval(renderCharts, 30_000);
})();
