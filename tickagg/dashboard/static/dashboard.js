// The tickagg dashboard page: one uPlot chart per panel of /api/panels, redrawn every REFRESH_MS from
// /api/panel/NAME. No build step. The page's own state is window.tickaggState (and each panel element's
// data-points / data-series attributes): what the browser test reads.
"use strict";

const REFRESH_MS = 2000;
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];
const state = window.tickaggState = { panels: {}, refreshes: 0, errors: 0, group: null, store: null };
const charts = {};  // name -> {plot, labels, element}

function rangeLabel(seconds) {
  return seconds < 3600 ? `last ${seconds / 60} min` : `last ${seconds / 3600} h`;
}

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status}`);
  return body;
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function makePanel(panel) {
  const box = element("section", { class: "panel", id: `panel-${panel.name}`, "data-panel": panel.name,
                                   "data-points": "0", "data-series": "0" });
  box.appendChild(element("h2", {}, `${panel.title} (${panel.unit})`));
  box.appendChild(element("div", { class: "note" }, "waiting for data…"));
  box.appendChild(element("div", { class: "chart" }));
  document.getElementById("panels").appendChild(box);
  charts[panel.name] = { plot: null, labels: "", element: box, panel };
  state.panels[panel.name] = { points: 0, series: 0, error: "", live: panel.live };
}

function chartOptions(panel, labels, width) {
  const regime = panel.name === "regime";
  const series = [{ label: "time" }];
  labels.forEach((label, i) => series.push({
    label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: !regime,
    scale: regime && label === "regime" ? "regime" : "y",
  }));
  const axes = [{}, { scale: "y", label: panel.unit, size: 60 }];
  // the x axis is the chosen range (from the last answer), wherever the points are in it
  const scales = { x: { time: true, range: () => charts[panel.name].window }, y: {} };
  if (regime) {
    axes.push({ scale: "regime", side: 1, label: "regime", grid: { show: false }, size: 40 });
    scales.regime = { range: [-0.2, 2.2] };
  }
  return { width, height: 200, series, axes, scales, legend: { live: false } };
}

function draw(name, drawn) {
  const chart = charts[name];
  const labels = drawn.series.map(s => s.label);
  const data = [drawn.x, ...drawn.series.map(s => s.values)];
  const key = labels.join("\u0000");
  const holder = chart.element.querySelector(".chart");
  chart.window = [drawn.from_s, drawn.to_s];
  if (!chart.plot || chart.labels !== key) {
    if (chart.plot) chart.plot.destroy();
    holder.textContent = "";
    chart.plot = new uPlot(chartOptions(chart.panel, labels, Math.max(300, holder.clientWidth || 640)), data, holder);
    chart.labels = key;
  } else {
    chart.plot.setData(data);
  }
  const points = drawn.points;
  Object.assign(state.panels[name], { points, series: labels.length, error: drawn.error || "", step: drawn.step,
                                      updated: Date.now() });
  chart.element.dataset.points = String(points);
  chart.element.dataset.series = String(labels.length);
  const note = chart.element.querySelector(".note");
  note.className = "note" + (drawn.error ? " bad" : "");
  note.textContent = drawn.error || (points ? `${points} points, ${drawn.step} s buckets` : "no data in this range yet");
}

function fail(name, error) {
  state.panels[name].error = String(error.message || error);
  state.errors += 1;
  const note = charts[name].element.querySelector(".note");
  note.className = "note bad";
  note.textContent = state.panels[name].error;
}

async function loadSymbols() {
  try {
    const { symbols } = await getJSON("/api/symbols");
    const chooser = document.getElementById("symbol"), venues = document.getElementById("venue");
    const chosen = chooser.value, known = new Set([...venues.options].map(o => o.value));
    chooser.textContent = "";
    for (const s of symbols) chooser.appendChild(element("option", { value: String(s.symbol_id) }, `${s.exchange}:${s.symbol}`));
    if (chosen && symbols.some(s => String(s.symbol_id) === chosen)) chooser.value = chosen;
    for (const s of symbols) if (!known.has(s.exchange)) { known.add(s.exchange); venues.appendChild(element("option", { value: s.exchange }, s.exchange)); }
    state.symbols = symbols.length;
  } catch (error) {
    state.symbolsError = String(error.message || error);
  }
}

async function refresh() {
  const range = document.getElementById("range").value;
  const venue = document.getElementById("venue").value;
  const symbol = document.getElementById("symbol").value;
  if (!state.symbols) await loadSymbols();
  await Promise.all(Object.values(charts).map(async ({ panel }) => {
    const query = new URLSearchParams({ range });
    if (panel.needs_symbol) { if (!symbol) return fail(panel.name, "no symbol stored yet"); query.set("symbol_id", symbol); }
    if (venue && panel.venue_filter) query.set("exchange", venue);
    try { draw(panel.name, await getJSON(`/api/panel/${panel.name}?${query}`)); } catch (error) { fail(panel.name, error); }
  }));
  state.refreshes += 1;
  const failing = Object.entries(state.panels).filter(([, p]) => p.error).map(([n]) => n);
  const status = document.getElementById("status");
  status.className = failing.length ? "bad" : "";
  status.textContent = `group ${state.group} · ${state.store} · ${new Date().toLocaleTimeString()}` +
                       (failing.length ? ` · no data: ${failing.join(", ")}` : "");
}

async function loop() {
  try { await refresh(); } finally { setTimeout(loop, REFRESH_MS); }
}

async function start() {
  const info = await getJSON("/api/panels");
  Object.assign(state, { group: info.group, store: info.store });
  const range = document.getElementById("range");
  for (const seconds of info.ranges) range.appendChild(element("option", { value: String(seconds) }, rangeLabel(seconds)));
  for (const panel of info.panels) makePanel(panel);
  for (const id of ["range", "venue", "symbol"]) document.getElementById(id).addEventListener("change", refresh);
  setInterval(loadSymbols, 10000);
  loop();
}

start().catch(error => {
  const status = document.getElementById("status");
  status.className = "bad";
  status.textContent = `cannot load the dashboard: ${error.message || error}`;
});
