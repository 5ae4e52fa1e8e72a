// docqueue upload page: upload files, follow each task live, open the result.
// EventSource cannot send an Authorization header, so the event stream is read with fetch() and
// a ReadableStream, and resumed with Last-Event-ID if it drops.
"use strict";

const KEY_STORAGE = "docqueue.apiKey";
const TERMINAL = new Set(["succeeded", "failed", "cancelled", "dead_lettered"]);
const MAX_RECONNECTS = 5;
const POLL_MS = 1000;

const $ = (selector) => document.querySelector(selector);
const keyInput = $("#api-key");
const drop = $("#drop");
const fileInput = $("#file-input");
const notice = $("#notice");
const list = $("#files");

keyInput.value = localStorage.getItem(KEY_STORAGE) || "";
keyInput.addEventListener("input", () => localStorage.setItem(KEY_STORAGE, keyInput.value.trim()));
$("#forget-key").addEventListener("click", () => {
  localStorage.removeItem(KEY_STORAGE);
  keyInput.value = "";
});

function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${keyInput.value.trim()}`, ...extra };
}

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// "detail (code)" from an application/problem+json answer, or the bare status.
async function problemText(response) {
  try {
    const body = await response.json();
    const detail = body.detail || body.title || `HTTP ${response.status}`;
    return body.code ? `${detail} (${body.code})` : detail;
  } catch {
    return `HTTP ${response.status} ${response.statusText}`;
  }
}

// --- one row per file ----------------------------------------------------------------------

function addRow(name) {
  const row = $("#file-row").content.firstElementChild.cloneNode(true);
  row.querySelector(".name").textContent = name;
  list.prepend(row);
  return row;
}

function setProgress(row, percent, stateText, state) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  row.querySelector(".fill").style.width = `${value}%`;
  row.querySelector(".bar").setAttribute("aria-valuenow", String(value));
  row.querySelector(".percent").textContent = `${value}%`;
  row.querySelector(".state").textContent = stateText;
  row.dataset.state = state;
}

function fail(row, message, state = "refused") {
  setProgress(row, Number(row.querySelector(".bar").getAttribute("aria-valuenow")), state, state);
  const error = row.querySelector(".error");
  error.textContent = message;
  error.hidden = false;
}

function describe(task) {
  const p = task.progress;
  if (task.state === "running") {
    return p.pages_total ? `${task.stage} · page ${p.pages_done} of ${p.pages_total}` : task.stage;
  }
  if (task.state === "retrying") return "retrying after a hiccup";
  if (task.state === "succeeded") return `succeeded · ${p.pages_total} page${p.pages_total === 1 ? "" : "s"}`;
  return task.state;
}

function show(row, task) {
  setProgress(row, task.progress.percent, describe(task), task.state);
  if (!TERMINAL.has(task.state)) return;
  if (task.state === "succeeded") {
    const open = row.querySelector(".open");
    open.hidden = false;
    open.onclick = () => openResult(task);
  } else {
    const error = task.error || {};
    const why = {
      failed: "This document cannot be processed",
      dead_lettered: "docqueue gave up on this document (an operator can replay it)",
      cancelled: "The task was cancelled",
    }[task.state];
    fail(row, `${why}: ${error.message || error.code || task.state}${error.code ? ` (${error.code})` : ""}`, task.state);
  }
}

// --- upload and follow -----------------------------------------------------------------------

async function processFile(file) {
  const row = addRow(file.name);
  if (!keyInput.value.trim()) {
    fail(row, "Enter an API key first.");
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  let accepted;
  try {
    const response = await fetch("/v1/documents", { method: "POST", headers: authHeaders(), body: form });
    if (!response.ok) {
      fail(row, `Upload refused: ${await problemText(response)}`);
      return;
    }
    accepted = await response.json();
  } catch (error) {
    fail(row, `Upload failed: ${error.message}`);
    return;
  }
  row.dataset.taskId = accepted.task_id;
  setProgress(row, 0, accepted.deduplicated ? "already submitted" : "queued", accepted.state);
  const final = await follow(row, accepted);
  if (final) show(row, final);
}

// The task's events until it ends; null if it could not be followed (the row says why).
async function follow(row, accepted) {
  let lastId = null;
  let quiet = 0;
  while (quiet <= MAX_RECONNECTS) {
    let response;
    try {
      const headers = authHeaders({ Accept: "text/event-stream" });
      if (lastId) headers["Last-Event-ID"] = lastId;
      response = await fetch(accepted.events_url, { headers, cache: "no-store" });
    } catch {
      quiet += 1;
      await sleep(500 * quiet);
      continue;
    }
    if (response.status === 503 || (response.status === 404 && !(await isTaskMissing(response.clone())))) {
      return poll(row, accepted); // too many streams, or a server without the events route
    }
    if (!response.ok) {
      fail(row, `Cannot follow this task: ${await problemText(response)}`);
      return null;
    }
    let got = false;
    try {
      for await (const event of readEvents(response)) {
        if (event.id) lastId = event.id;
        if (event.event !== "task") continue;
        got = true;
        const task = JSON.parse(event.data);
        show(row, task);
        if (TERMINAL.has(task.state)) return task;
      }
    } catch {
      // The connection dropped: resume from the last event id.
    }
    quiet = got ? 0 : quiet + 1;
    await sleep(200 * quiet);
  }
  return poll(row, accepted);
}

async function isTaskMissing(response) {
  try {
    return (await response.json()).code === "task_not_found";
  } catch {
    return false;
  }
}

// Server-Sent Events parsed from a fetch() body.
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { event: "message", data: [], id: null };
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(buffer[newline] === "\r" && buffer[newline + 1] === "\n" ? newline + 2 : newline + 1);
        if (line === "") {
          if (event.data.length) yield { event: event.event, data: event.data.join("\n"), id: event.id };
          event = { event: "message", data: [], id: null };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const name = colon < 0 ? line : line.slice(0, colon);
          const fieldValue = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (name === "event") event.event = fieldValue;
          else if (name === "data") event.data.push(fieldValue);
          else if (name === "id") event.id = fieldValue;
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

async function poll(row, accepted) {
  while (true) {
    const response = await fetch(accepted.status_url, { headers: authHeaders(), cache: "no-store" });
    if (!response.ok) {
      fail(row, `Cannot read this task: ${await problemText(response)}`);
      return null;
    }
    const task = await response.json();
    show(row, task);
    if (TERMINAL.has(task.state)) return task;
    await sleep(POLL_MS);
  }
}

// --- the result ------------------------------------------------------------------------------

async function openResult(task) {
  showNotice("");
  const response = await fetch(task.result_url, { headers: authHeaders(), cache: "no-store" });
  if (!response.ok) {
    showNotice(`Cannot open the result: ${await problemText(response)}`);
    return;
  }
  const result = await response.json();
  const doc = result.document;
  $("#result-title").textContent = doc.title || doc.filename;
  $("#result-meta").textContent =
    `${doc.filename} · ${doc.media_type} · ${result.pages.length} pages · ${result.chunks.length} chunks`;
  fill($("#result-pages"), result.pages, (page) => [`Page ${page.number}`, page.text]);
  fill($("#result-chunks"), result.chunks, (chunk) => [
    `Chunk ${chunk.index} · pages ${chunk.page_start}–${chunk.page_end} · characters ${chunk.char_start}–${chunk.char_end}`,
    chunk.text,
  ]);
  selectTab("pages");
  $("#result").hidden = false;
  $("#result").scrollIntoView({ behavior: "smooth", block: "start" });
}

function fill(listElement, items, describeItem) {
  listElement.replaceChildren(
    ...items.map((item) => {
      const [title, text] = describeItem(item);
      const li = document.createElement("li");
      const heading = document.createElement("h3");
      heading.textContent = title;
      const body = document.createElement("pre");
      body.textContent = text;
      li.append(heading, body);
      return li;
    }),
  );
}

function selectTab(name) {
  for (const tab of ["pages", "chunks"]) {
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(`#result-${tab}`).hidden = tab !== name;
  }
}

$("#tab-pages").addEventListener("click", () => selectTab("pages"));
$("#tab-chunks").addEventListener("click", () => selectTab("chunks"));
$("#close-result").addEventListener("click", () => {
  $("#result").hidden = true;
});

// --- choosing files --------------------------------------------------------------------------

function addFiles(files) {
  showNotice("");
  for (const file of files) processFile(file);
}

fileInput.addEventListener("change", () => {
  addFiles([...fileInput.files]);
  fileInput.value = "";
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  addFiles([...event.dataTransfer.files]);
});
drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") fileInput.click();
});
