// The ris page: plain DOM code over the JSON API. Every text from the server goes in
// through textContent, never innerHTML, so an image id or metadata cannot inject markup.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { context: null, page: 0, pageSize: 48, plan: null, planRequest: null, chosen: {} };

function idPath(id) { return id.split("/").map(encodeURIComponent).join("/"); }
function ctxUrl(rest) { return `/api/contexts/${encodeURIComponent(state.context)}${rest}`; }
function thumbUrl(id, size = 160) { return ctxUrl(`/thumbnails/${idPath(id)}?size=${size}`); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { $("login").hidden = false; throw new Error("sign in with the server's token"); }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { const body = await response.json(); message = `${body.error.type}: ${body.error.message}`; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  if (response.status === 204) return null;
  const kind = response.headers.get("content-type") || "";
  return kind.includes("json") ? response.json() : response;
}

function guarded(action) {
  return async (...args) => {
    try { await action(...args); } catch (error) { say(error.message, true); }
  };
}

function jsonBody(value) {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) };
}

// --- contexts and tabs ------------------------------------------------------------

async function loadContexts(select) {
  const { contexts } = await api("/api/contexts");
  const box = $("context");
  box.replaceChildren(...contexts.map((c) => el("option", { value: c.name, text: `${c.name} (${c.image_count})` })));
  if (!contexts.length) box.append(el("option", { value: "default", text: "default (new)" }));
  const wanted = select || state.context || localStorage.getItem("ris-context");
  if (wanted && [...box.options].some((o) => o.value === wanted)) box.value = wanted;
  state.context = box.value;
}

function showTab(name) {
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== `tab-${name}`;
  const loaders = { browse: loadBrowse, organise: loadOrganise, stats: loadStats, ingest: loadFolders };
  if (loaders[name]) guarded(loaders[name])();
}

// --- search -----------------------------------------------------------------------

function resultCard(result, onClick) {
  const method = result.method ? ` · ${result.method}` : "";
  const distance = result.distance === null || result.distance === undefined ? "" : ` · distance ${result.distance}`;
  const meta = result.metadata && Object.keys(result.metadata).length ? JSON.stringify(result.metadata) : "";
  return el("div", { class: "card result", "data-id": result.image_id, onclick: onClick },
    el("img", { src: thumbUrl(result.image_id), alt: result.image_id, loading: "lazy" }),
    el("div", { class: "score", text: `${result.similarity.toFixed(1)}` }),
    el("div", { text: result.image_id }),
    el("small", { text: `${explain(result)}${method}${distance}` }),
    meta ? el("small", { text: meta }) : null);
}

function explain(result) {
  if (result.similarity >= 99.9) return "same picture";
  if (result.similarity >= 85) return "near-identical copy";
  return "similar";
}

function limits(form) {
  const threshold = $("threshold").value;
  if (threshold !== "") form.append("threshold", threshold);
  form.append("max_count", $("max-count").value || "12");
  return form;
}

async function searchWith(form, query) {
  const { results } = await api(ctxUrl("/search"), { method: "POST", body: limits(form) });
  $("results").replaceChildren(...results.map((r) => resultCard(r, () => showCompare(query, r))));
  say(results.length ? `${results.length} match(es)` : "no matches above the threshold");
}

async function searchFile(file) {
  if (!file) return;
  const url = URL.createObjectURL(file);
  $("query-preview").replaceChildren(el("img", { src: url, alt: "query" }));
  const form = new FormData();
  form.append("file", file);
  await searchWith(form, { file, url });
}

async function searchId(id) {
  $("query-preview").replaceChildren(el("img", { src: thumbUrl(id, 320), alt: id }));
  const form = new FormData();
  form.append("image_id", id);
  await searchWith(form, { id, url: thumbUrl(id, 320) });
}

async function showCompare(query, result) {
  $("compare").hidden = false;
  $("compare-left").replaceChildren(el("img", { src: query.url, alt: "query" }), el("figcaption", { text: query.id || query.file.name }));
  $("compare-right").replaceChildren(el("img", { src: thumbUrl(result.image_id, 320), alt: result.image_id }),
    el("figcaption", { text: result.image_id }));
  let comparison;
  if (query.id) {
    comparison = await api(ctxUrl(`/compare?first=${encodeURIComponent(query.id)}&second=${encodeURIComponent(result.image_id)}`));
  } else {
    const form = new FormData();
    form.append("file", query.file);
    comparison = await api(ctxUrl(`/compare/${idPath(result.image_id)}`), { method: "POST", body: form });
  }
  $("compare-text").textContent = `similarity ${comparison.similarity.toFixed(1)} by ${comparison.method} (distance ${comparison.distance})`;
}

// --- browse -----------------------------------------------------------------------

async function loadBrowse() {
  const params = new URLSearchParams({ offset: state.page * state.pageSize, limit: state.pageSize });
  if ($("browse-collection").value) params.set("collection", $("browse-collection").value);
  if ($("browse-where").value.trim()) params.set("where", $("browse-where").value.trim());
  const [page, collections] = await Promise.all([api(ctxUrl(`/images?${params}`)), api(ctxUrl("/collections"))]);
  const chosen = $("browse-collection").value;
  $("browse-collection").replaceChildren(el("option", { value: "", text: "all" }),
    ...collections.collections.map((c) => el("option", { value: c.name, text: `${c.name} (${c.image_count})` })));
  $("browse-collection").value = chosen;
  const pages = Math.max(1, Math.ceil(page.total / state.pageSize));
  $("browse-page").textContent = `page ${state.page + 1} of ${pages} · ${page.total} images`;
  $("browse-grid").replaceChildren(...page.images.map((image) => el("div", {
    class: "card", "data-id": image.image_id, onclick: () => { showTab("search"); guarded(searchId)(image.image_id); },
  }, el("img", { src: thumbUrl(image.image_id), alt: image.image_id, loading: "lazy" }),
    el("div", { text: image.image_id }),
    Object.keys(image.metadata).length ? el("small", { text: JSON.stringify(image.metadata) }) : null)));
}

// --- duplicates -------------------------------------------------------------------

function formatSize(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

function memberView(member, number, keep) {
  const facts = [["path", member.source || member.image_id], ["resolution", `${member.width}×${member.height}`],
    ["size", formatSize(member.size)], ["date", member.date.replace("T", " ").slice(0, 16)],
    ["link score", member.similarity.toFixed(1)]];
  const pick = el("input", { type: "radio", name: `keep-${number}`, value: member.image_id, "aria-label": `keep ${member.image_id}` });
  if (member.image_id === keep) pick.checked = true;
  pick.addEventListener("change", () => { state.chosen[number] = member.image_id; markKeepers(); });
  return el("div", { class: `member${member.image_id === keep ? " keep" : ""}`, "data-id": member.image_id },
    el("img", { src: thumbUrl(member.image_id), alt: member.image_id, loading: "lazy" }),
    el("dl", {}, ...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
    el("label", {}, pick, " keep"));
}

function markKeepers() {
  for (const group of document.querySelectorAll(".group")) {
    const checked = group.querySelector("input[type=radio]:checked");
    for (const member of group.querySelectorAll(".member")) member.classList.toggle("keep", checked && member.dataset.id === checked.value);
  }
  $("dup-apply").disabled = true;  // the plan shown no longer matches the choice
}

function showGroups(groups, keep = []) {
  $("dup-groups").replaceChildren(...groups.map((group, number) => {
    const ids = group.images.map((m) => m.image_id);
    const notDup = el("button", { type: "button", text: "not duplicates", onclick: guarded(async () => {
      for (let i = 1; i < ids.length; i += 1) await api(ctxUrl("/not-duplicates"), jsonBody({ first: ids[0], second: ids[i] }));
      say(`recorded: ${ids.join(", ")} are not duplicates`);
      await findDuplicates();
    }) });
    return el("div", { class: "group", "data-group": number }, el("h3", { text: `group ${number + 1}` }), notDup,
      el("div", { class: "members" }, ...group.images.map((m) => memberView(m, number, keep[number]))));
  }));
  if (!groups.length) $("dup-groups").replaceChildren(el("p", { text: "no duplicates" }));
}

async function findDuplicates() {
  state.chosen = {};
  state.plan = null;
  $("dup-apply").disabled = true;
  $("dup-plan-view").replaceChildren();
  const { groups } = await api(ctxUrl("/duplicates"));
  showGroups(groups);
  say(`${groups.length} duplicate group(s)`);
}

function planRequest() {
  // Groups kept by hand (a radio button clicked) override the rule for that group only.
  return { keep: $("dup-keep").value, action: $("dup-action").value, to: $("dup-to").value || null,
    prefer: $("dup-prefer").value || null, chosen: { ...(state.chosen || {}) } };
}

async function showPlan() {
  state.planRequest = planRequest();
  const plan = await api(ctxUrl("/duplicates/plan"), jsonBody(state.planRequest));
  state.plan = plan;
  showGroups(plan.groups, plan.keep);
  $("dup-plan-view").replaceChildren(el("h3", { text: "Plan (nothing changes until you apply it)" }),
    el("ul", {}, ...plan.steps.map((step) => el("li", {
      class: `plan-step${step.refused ? " refused" : ""}`,
      text: step.refused ? `${step.image_id}: cannot ${step.action}: ${step.refused}`
        : `${step.action} ${step.image_id}${step.target ? ` → ${step.target}` : ""} (keeping ${step.keep_id})`,
    }))));
  $("dup-apply").disabled = !plan.steps.some((step) => !step.refused);
}

async function applyPlan() {
  if (!state.plan || !confirm(`Apply ${state.plan.steps.length} step(s)?`)) return;
  const result = await api(ctxUrl("/duplicates/apply"), jsonBody({ ...state.planRequest, fingerprint: state.plan.fingerprint }));
  const done = result.outcomes.filter((o) => o.done).length;
  const failed = result.outcomes.filter((o) => !o.done).map((o) => `${o.image_id}: ${o.error}`);
  await findDuplicates();
  say(`applied: ${done} of ${result.outcomes.length} step(s) done${failed.length ? `; not done: ${failed.join("; ")}` : ""}`, failed.length > 0);
  await loadContexts();
}

// --- ingest -----------------------------------------------------------------------

async function loadFolders() {
  const { folders } = await api("/api/folders");
  $("ingest-folder").replaceChildren(...folders.map((f) => el("option", { value: f, text: f })));
  $("ingest-folder-go").disabled = !folders.length;
  if (!folders.length) $("ingest-folder").append(el("option", { value: "", text: "none allowed (ris serve --folder DIR)" }));
}

async function ingest(form) {
  const response = await fetch(ctxUrl("/ingest"), { method: "POST", body: form, credentials: "same-origin" });
  if (!response.ok) { await api(ctxUrl("/ingest"), { method: "POST", body: form }); return; }
  $("ingest-log").replaceChildren();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      onEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
  }
  await loadContexts();
}

function onEvent(text) {
  const name = (text.match(/^event: (.*)$/m) || [])[1];
  const data = JSON.parse((text.match(/^data: (.*)$/m) || [])[1] || "{}");
  if (name === "progress") {
    $("ingest-bar").max = data.total;
    $("ingest-bar").value = data.done;
    $("ingest-count").textContent = `${data.done} / ${data.total}`;
    $("ingest-log").append(el("li", { text: `${data.status} ${data.image_id}${data.error ? `: ${data.error}` : ""}` }));
  } else if (name === "done") {
    const counts = Object.entries(data.summary).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(", ");
    say(`ingest finished: ${counts || "nothing to do"}; ${data.images} images in the context`);
  } else if (name === "error") {
    say(`${data.type}: ${data.message}`, true);
  }
}

// --- tags and collections ---------------------------------------------------------

function idsField() { return $("collection-ids").value.split(",").map((s) => s.trim()).filter(Boolean); }

async function loadOrganise() {
  const [{ collections }, { tags }] = await Promise.all([api(ctxUrl("/collections")), api(ctxUrl("/tags"))]);
  $("collections").replaceChildren(...collections.map((c) => el("li", { text: `${c.name}: ${c.image_count} image(s)` })));
  $("tags").replaceChildren(...Object.entries(tags).map(([tag, count]) => el("li", {},
    el("span", { text: `${tag} (${count} reference image(s)) ` }),
    el("button", { type: "button", text: "find images", onclick: guarded(async () => {
      const { results } = await api(ctxUrl(`/tags/${encodeURIComponent(tag)}/images`));
      $("tag-results").replaceChildren(...results.map((r) => resultCard(r, () => {})));
    }) }))));
}

async function collectionAction(kind) {
  const name = encodeURIComponent($("collection-name").value.trim());
  if (!name) throw new Error("give the collection a name");
  if (kind === "create") await api(ctxUrl(`/collections/${name}`), { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image_ids: idsField() }) });
  if (kind === "add") await api(ctxUrl(`/collections/${name}/images`), jsonBody({ image_ids: idsField() }));
  if (kind === "remove") await api(ctxUrl(`/collections/${name}/remove`), jsonBody({ image_ids: idsField() }));
  if (kind === "delete") await api(ctxUrl(`/collections/${name}`), { method: "DELETE" });
  if (kind === "rename") {
    const newName = $("collection-new-name").value.trim();
    if (!newName) throw new Error("give the collection its new name");
    await api(ctxUrl(`/collections/${name}/rename`), jsonBody({ name: newName }));
    // The name field follows the collection, so the next action acts on it under its new name.
    $("collection-name").value = newName;
    $("collection-new-name").value = "";
    say(`renamed collection ${decodeURIComponent(name)} to ${newName}`);
  }
  await loadOrganise();
}

async function createTag() {
  const form = new FormData();
  for (const file of $("tag-files").files) form.append("file", file);
  await api(ctxUrl(`/tags/${encodeURIComponent($("tag-name").value.trim())}`), { method: "PUT", body: form });
  await loadOrganise();
}

// --- statistics -------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function latencyPlot(latency) {
  // One bar chart: p50, p90 and p99 of each operation, in milliseconds.
  const operations = Object.keys(latency);
  const width = 640, height = 260, left = 60, bottom = 60, top = 20;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "search latency" });
  const values = operations.flatMap((op) => ["p50", "p90", "p99"].map((p) => latency[op][p] * 1000));
  const most = Math.max(1, ...values);
  const slot = (width - left - 20) / Math.max(1, operations.length);
  const colours = { p50: "#2f6fdb", p90: "#7aa2ea", p99: "#c3d4f5" };
  chart.append(svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, stroke: "#667085" }));
  chart.append(svg("text", { x: 4, y: top + 4, "font-size": 11 }, `${most.toFixed(1)} ms`));
  chart.append(svg("text", { x: 4, y: height - bottom, "font-size": 11 }, "0"));
  operations.forEach((op, i) => {
    ["p50", "p90", "p99"].forEach((p, j) => {
      const value = latency[op][p] * 1000;
      const barHeight = (value / most) * (height - bottom - top);
      chart.append(svg("rect", { x: left + i * slot + 10 + j * (slot - 20) / 3, y: height - bottom - barHeight,
        width: Math.max(2, (slot - 20) / 3 - 2), height: barHeight, fill: colours[p] }, undefined));
    });
    chart.append(svg("text", { x: left + i * slot + 10, y: height - bottom + 16, "font-size": 11 }, op.replace("find_", "")));
  });
  Object.entries(colours).forEach(([p, colour], j) => {
    chart.append(svg("rect", { x: left + j * 70, y: height - 22, width: 12, height: 12, fill: colour }));
    chart.append(svg("text", { x: left + j * 70 + 16, y: height - 12, "font-size": 11 }, p));
  });
  if (!operations.length) chart.append(svg("text", { x: left + 20, y: height / 2, "font-size": 13 }, "no searches yet"));
  return chart;
}

async function loadStats() {
  const stats = await api(ctxUrl("/stats"));
  const searches = Object.values(stats.searches).reduce((a, b) => a + b, 0);
  $("stats-counts").replaceChildren(...[["images", stats.images], ["tags", stats.tags], ["collections", stats.collections],
    ["searches", searches], ["cache hits", stats.cache_hits]].map(([k, v]) => el("span", { text: `${v} ${k}` })));
  // As `ris stats` says it: the counts above are short by the searches whose statistics
  // this server process could not write (other processes' drops are not known here).
  $("stats-dropped").hidden = !stats.dropped;
  $("stats-dropped").textContent = stats.dropped ? `${stats.dropped} more searches of this server process are not `
    + "counted: their statistics could not be written (the database is read-only, full or was locked too long)" : "";
  $("stats-plot").replaceChildren(latencyPlot(stats.latency));
  $("most-searched").replaceChildren(...stats.most_searched.map(([id, n]) => el("li", { text: `${id} (${n})` })));
  $("most-matched").replaceChildren(...stats.most_matched.map(([id, n]) => el("li", { text: `${id} (${n})` })));
}

// --- wiring -----------------------------------------------------------------------

function wire() {
  for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
  $("context").addEventListener("change", () => {
    state.context = $("context").value; state.page = 0; localStorage.setItem("ris-context", state.context);
    const active = document.querySelector("#tabs button.active"); showTab(active.dataset.tab);
  });
  $("create-context").addEventListener("click", guarded(async () => {
    const name = $("new-context").value.trim();
    await api(`/api/contexts/${encodeURIComponent(name)}`, { method: "PUT" });
    await loadContexts(name); say(`created context ${name}`);
  }));
  $("search-file").addEventListener("change", guarded(() => searchFile($("search-file").files[0])));
  $("search-by-id").addEventListener("click", guarded(() => searchId($("search-id").value.trim())));
  const drop = $("search-drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", guarded((e) => { e.preventDefault(); drop.classList.remove("over"); return searchFile(e.dataTransfer.files[0]); }));
  document.addEventListener("paste", guarded((e) => {
    const item = [...(e.clipboardData || { items: [] }).items].find((i) => i.type.startsWith("image/"));
    return item ? searchFile(item.getAsFile()) : undefined;
  }));
  $("compare-close").addEventListener("click", () => { $("compare").hidden = true; });
  $("browse-apply").addEventListener("click", guarded(() => { state.page = 0; return loadBrowse(); }));
  $("browse-prev").addEventListener("click", guarded(() => { state.page = Math.max(0, state.page - 1); return loadBrowse(); }));
  $("browse-next").addEventListener("click", guarded(() => { state.page += 1; return loadBrowse(); }));
  $("dup-find").addEventListener("click", guarded(findDuplicates));
  $("dup-plan").addEventListener("click", guarded(showPlan));
  $("dup-apply").addEventListener("click", guarded(applyPlan));
  for (const id of ["dup-keep", "dup-action", "dup-to", "dup-prefer"]) $(id).addEventListener("change", () => { $("dup-apply").disabled = true; });
  // A new rule replaces the choices made by hand.
  $("dup-keep").addEventListener("change", () => { state.chosen = {}; });
  $("ingest-files").addEventListener("change", guarded(() => {
    const form = new FormData();
    for (const file of $("ingest-files").files) form.append("file", file, file.name);
    return ingest(form);
  }));
  $("ingest-folder-go").addEventListener("click", guarded(() => {
    const form = new FormData();
    const sub = $("ingest-sub").value.trim();
    form.append("folder", sub ? `${$("ingest-folder").value}/${sub}` : $("ingest-folder").value);
    return ingest(form);
  }));
  for (const kind of ["create", "add", "remove", "delete", "rename"]) $(`collection-${kind}`).addEventListener("click", guarded(() => collectionAction(kind)));
  $("tag-create").addEventListener("click", guarded(createTag));
}

document.addEventListener("DOMContentLoaded", guarded(async () => {
  wire();
  await loadContexts();
  document.body.dataset.ready = "yes";
}));
