// The page: views (API key, home, job), hash routes (#/ and #/jobs/<id>), the live
// progress of a job, keyboard shortcuts and exports.

import { api, apiKey, describe, liveSocket, setApiKey } from "./api.js";
import { ChatPanel, SummaryPanel } from "./assistant.js";
import { HomeView } from "./home.js";
import { Player } from "./player.js";
import { Recorder } from "./record.js";
import { SpeakersView } from "./speakers.js";
import { TranscriptView } from "./transcript.js";

const $ = (id) => document.getElementById(id);
const RECONNECTS = 5;

const notice = $("notice");
function notify(message) {
  $("notice-text").textContent = message;
  notice.hidden = !message;
}
$("notice-close").addEventListener("click", () => notify(""));

function show(view) {
  for (const id of ["key-view", "home-view", "job-view", "speakers-view"]) $(id).hidden = id !== view;
}

const home = new HomeView({
  form: $("upload-form"), drop: $("drop-zone"), file: $("file-input"), models: $("model-select"),
  table: $("jobs-table"), prev: $("jobs-prev"), next: $("jobs-next"), page: $("jobs-page"),
  notify, open: (id) => (location.hash = `#/jobs/${id}`),
});

const recorder = new Recorder({
  button: $("record-button"), level: $("record-level"), status: $("record-status"), lines: $("record-lines"),
  partial: $("record-partial"), language: $("language-input"), notify, open: (id) => (location.hash = `#/jobs/${id}`),
});

const speakersView = new SpeakersView({
  list: $("enrolled-list"), status: $("speakers-status"), clipForm: $("enrol-clip-form"), jobForm: $("enrol-job-form"),
  jobInput: $("enrol-job-id"), jobSpeaker: $("enrol-job-speaker"), jobSpeakers: $("enrol-job-speakers"), notify,
});

let transcript;
const player = new Player({
  container: $("waveform"), button: $("play-button"), speed: $("speed-select"), time: $("play-time"),
  onTime: (t, playing) => transcript.follow(t, playing),
});
transcript = new TranscriptView({
  list: $("segments"), speakers: $("speakers"), search: $("search-input"), searchCount: $("search-count"),
  player, notify, models: () => home.modelNames,
});
const seek = (t) => player.seek(t);
const summary = new SummaryPanel({
  form: $("summary-form"), format: $("summary-format"), length: $("summary-length"), status: $("summary-status"),
  text: $("summary-text"), actionsTitle: $("actions-title"), actions: $("action-items"),
  transcript: () => transcript.model.lines(), seek,
});
const chat = new ChatPanel({ form: $("chat-form"), input: $("chat-input"), log: $("chat-log"), transcript: () => transcript.model.lines(), seek });

// ---- a job: live events until it ends, then its (editable) result --------------------

let socket = null;
let jobId = null;

function showStatus(event) {
  const info = event.chunk_info;
  let text = event.message || event.status;
  if (info && info.total_chunks) text += ` · chunk ${info.current_chunk} of ${info.total_chunks}`;
  if (info && info.diarization_progress !== null && info.diarization_progress !== undefined && event.status === "processing") {
    text += ` · speakers ${Math.round(info.diarization_progress)}%`;
  }
  $("job-status").textContent = text;
  $("job-progress").value = event.progress || 0;
  $("job-view").dataset.status = event.status;
}

async function finished(id, event) {
  if (id !== jobId) return;
  if (event.status === "completed") await transcript.loadResult();
  else notify(`The transcription failed: ${event.message}`);
}

/** The audio is kept from the upload on, so it plays while the job still runs. */
async function loadAudio(id) {
  try {
    await player.load(id);
  } catch (error) {
    if (id === jobId) notify(`The audio cannot be played: ${describe(error)}`);
  }
}

function follow(id, after = 0, tries = 0) {
  let last = after;
  let ended = false;
  socket = liveSocket(id, after);
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    last = Math.max(last, event.seq || 0);
    if (event.type === "status") {
      showStatus(event);
      if (event.status === "not_found") {
        ended = true;
        notify("This job was not found: it expired, or belongs to another API key.");
      } else if (event.status !== "processing") {
        ended = true;
        finished(id, event);
      }
    } else {
      transcript.applyEvent(event);
    }
  });
  socket.addEventListener("close", () => {
    if (ended || id !== jobId) return;
    if (tries >= RECONNECTS) notify("The live connection was lost; reload the page to resume.");
    else setTimeout(() => id === jobId && follow(id, last, tries + 1), 1000 * (tries + 1));
  });
}

async function openJob(id) {
  if (socket) socket.close();
  jobId = id;
  show("job-view");
  notify("");
  player.unload();
  transcript.open(id);
  summary.clear();
  chat.clear();
  $("job-title").textContent = "Transcript";
  $("enrol-link").href = `#/speakers?job=${encodeURIComponent(id)}`;
  try {
    const status = await api(`/api/transcribe/status/${encodeURIComponent(id)}`);
    showStatus({ ...status, chunk_info: null });
    if (status.status !== "failed") loadAudio(id);
    if (status.status === "processing") follow(id);
    else await finished(id, status);
  } catch (error) {
    if (error.status === 404) {
      showStatus({ status: "not_found", message: "Job not found", progress: 0 });
      notify("This job was not found: it expired, or belongs to another API key.");
    } else notify(describe(error));
  }
}

// ---- exports ----------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-export]")) {
  button.addEventListener("click", async () => {
    const format = button.dataset.export;
    try {
      const response = await api(`/api/transcribe/result/${encodeURIComponent(jobId)}?format=${format}`, { raw: true });
      const blob = format === "json" ? new Blob([await response.text()], { type: "application/json" }) : await response.blob();
      const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: `${jobId}.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      notify(describe(error));
    }
  });
}

// ---- keyboard: space, j, k (not while typing or on a control) -----------------------

document.addEventListener("keydown", (event) => {
  if ($("job-view").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest("input, textarea, select, [contenteditable]")) return;
  if (event.key === " " && !target.closest("button, a")) {
    event.preventDefault();
    player.toggle();
  } else if (event.key === "j" || event.key === "k") {
    event.preventDefault();
    transcript.step(event.key === "j" ? 1 : -1);
  }
});

// ---- the API key and routes ---------------------------------------------------------

window.addEventListener("auth-required", () => {
  setApiKey(null);
  show("key-view");
  $("sign-out").hidden = true;
  $("key-input").focus();
});

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setApiKey($("key-input").value.trim());
  $("key-input").value = "";
  start();
});

$("sign-out").addEventListener("click", () => {
  setApiKey(null);
  location.hash = "#/";
  window.dispatchEvent(new CustomEvent("auth-required"));
});

async function route() {
  notify("");
  if (recorder.recording) {
    await recorder.stop(); // leaving the page's home while recording saves it and opens its job
    return;
  }
  const match = location.hash.match(/^#\/jobs\/([\w-]+)$/);
  const speakersRoute = location.hash.match(/^#\/speakers(?:\?job=([\w-]+))?$/);
  speakersView.unload();
  if (match) {
    await openJob(match[1]);
  } else if (speakersRoute) {
    if (socket) socket.close();
    jobId = null;
    player.unload();
    show("speakers-view");
    await speakersView.open(speakersRoute[1]);
  } else {
    if (socket) socket.close();
    jobId = null;
    player.unload();
    show("home-view");
    await home.list(0);
  }
}

async function start() {
  try {
    await home.loadModels(); // 401 here: the server wants a key
  } catch (error) {
    if (error.status !== 401) notify(describe(error));
    return;
  }
  $("sign-out").hidden = !apiKey();
  await route();
}

window.addEventListener("hashchange", () => route());
window.addEventListener("error", (event) => notify(`Something went wrong in this page: ${event.message}`));
window.addEventListener("unhandledrejection", (event) => notify(describe(event.reason)));
start();
