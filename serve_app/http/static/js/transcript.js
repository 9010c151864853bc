// The transcript view: segments in time order, built from live events or the result,
// speaker colours, search, and the edits (text, speaker, rename, merge, re-transcribe).

import { api, describe } from "./api.js";
import { el, speakerColor } from "./format.js";

/** Ids are positions: ``7`` < ``7.1`` (a piece split off 7 at a speaker change) < ``8``. */
function byPosition(a, b) {
  const x = String(a.id).split(".").map(Number);
  const y = String(b.id).split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

/** Segments by id in transcript order; applies the live protocol's segment and revision events. */
export class TranscriptModel {
  constructor() {
    this.segments = [];
    this.version = 0;
    this.speakerOrder = [];
  }

  reset(segments, version = 0) {
    this.segments = segments.map((s) => ({ ...s }));
    this.version = version;
    this.noteSpeakers();
  }

  upsert(event) {
    const { type, seq, ...segment } = event; // eslint-disable-line no-unused-vars
    const i = this.segments.findIndex((s) => s.id === segment.id);
    if (i >= 0) this.segments[i] = { ...segment };
    else {
      this.segments.push({ ...segment });
      this.segments.sort(byPosition);
    }
  }

  /** One live event; returns whether the segments changed. */
  apply(event) {
    if (event.type === "segment") {
      this.upsert(event);
    } else if (event.type === "revision") {
      const removed = new Set(event.removed || []);
      this.segments = this.segments.filter((s) => !removed.has(s.id));
      for (const seg of event.segments || []) this.upsert(seg);
    } else {
      return false;
    }
    this.noteSpeakers();
    return true;
  }

  /** Speakers in order of first appearance: a speaker keeps its colour as others come. */
  noteSpeakers() {
    for (const s of this.segments) {
      if (s.speaker && !this.speakerOrder.includes(s.speaker)) this.speakerOrder.push(s.speaker);
    }
  }

  speakers() {
    const present = new Set(this.segments.map((s) => s.speaker).filter(Boolean));
    return this.speakerOrder.filter((name) => present.has(name));
  }

  color(speaker) {
    const i = this.speakerOrder.indexOf(speaker);
    return i < 0 ? "#999999" : speakerColor(i);
  }

  /** What the summary and chat APIs take: the edited transcript, names included. */
  lines() {
    return this.segments.map(({ start, end, text, speaker }) => ({ start, end, text, speaker }));
  }
}

export class TranscriptView {
  constructor({ list, speakers, search, searchCount, player, notify, models }) {
    this.list = list;
    this.speakersBox = speakers;
    this.search = search;
    this.searchCount = searchCount;
    this.player = player;
    this.notify = notify;
    this.models = models; // () => ASR model names, for re-transcription
    this.model = new TranscriptModel();
    this.jobId = null;
    this.editable = false;
    this.playingId = null;
    this.matchIndex = -1;
    this.renderPending = false;
    search.addEventListener("input", () => this.render());
    search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.nextMatch();
      }
    });
  }

  open(jobId) {
    this.jobId = jobId;
    this.model = new TranscriptModel();
    this.editable = false;
    this.playingId = null;
    this.search.value = "";
    this.render();
  }

  base() {
    return `/api/transcribe/result/${encodeURIComponent(this.jobId)}`;
  }

  async loadResult() {
    const result = await api(this.base());
    this.model.reset(result.segments, result.version);
    this.editable = true;
    this.render();
  }

  /** A live event; renders once per animation frame however many arrive in it. */
  applyEvent(event) {
    if (!this.model.apply(event) || this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.render();
    });
  }

  // ---- rendering -------------------------------------------------------------------

  render() {
    const query = this.search.value.trim().toLowerCase();
    let matches = 0;
    const items = this.model.segments.map((seg) => {
      const hit = query && seg.text.toLowerCase().includes(query);
      if (hit) matches += 1;
      return this.segmentItem(seg, query, hit);
    });
    this.list.replaceChildren(...items);
    this.searchCount.textContent = query ? `${matches} match${matches === 1 ? "" : "es"}` : "";
    this.renderSpeakers();
  }

  segmentItem(seg, query, hit) {
    const color = this.model.color(seg.speaker);
    const item = el(
      "li",
      {
        class: `segment${seg.id === this.playingId ? " playing" : ""}${query && !hit ? " dim" : ""}`,
        dataset: { id: seg.id, start: seg.start, end: seg.end },
        style: `--speaker: ${color}`,
        "aria-current": seg.id === this.playingId ? "true" : null,
      },
      el(
        "button",
        { type: "button", class: "time", "aria-label": `Play from ${seg.start_display}`, onclick: () => this.player.seek(seg.start) },
        seg.start_display.slice(0, 8),
      ),
      el("span", { class: "speaker" }, seg.speaker || ""),
      el("span", { class: "text" }, highlighted(seg.text, query)),
      this.editable
        ? el("button", { type: "button", class: "quiet edit", "aria-label": `Edit segment at ${seg.start_display}`, onclick: () => this.editSegment(item, seg) }, "Edit")
        : el("span"),
    );
    return item;
  }

  renderSpeakers() {
    const speakers = this.model.speakers();
    if (!this.editable || speakers.length === 0) {
      this.speakersBox.replaceChildren();
      return;
    }
    const cards = speakers.map((name, i) => {
      const id = `speaker-name-${i}`;
      const input = el("input", { id, value: name, maxlength: 100 });
      const remember = el("input", { type: "checkbox", id: `${id}-enrol` });
      const merge = el("select", { id: `${id}-merge`, "aria-label": `Merge ${name} into` },
        el("option", { value: "" }, "Merge into…"),
        speakers.filter((o) => o !== name).map((o) => el("option", { value: o }, o)));
      return el(
        "div",
        { class: "speaker-card", style: `--speaker: ${this.model.color(name)}` },
        el("label", { for: id }, `Rename ${name}`),
        " ",
        input,
        " ",
        el("button", { type: "button", onclick: () => this.rename({ [name]: input.value }, remember.checked) }, "Rename"),
        " ",
        remember,
        el("label", { for: remember.id }, "Remember this voice"),
        " ",
        merge,
        " ",
        el("button", { type: "button", onclick: () => merge.value && this.rename({ [name]: merge.value }) }, "Merge"),
      );
    });
    this.speakersBox.replaceChildren(...cards);
  }

  // ---- playback follow and navigation -------------------------------------------------

  /** Highlight the segment being played, and keep it in view while playing. */
  follow(time, playing) {
    const seg = this.model.segments.find((s) => s.start <= time && time < s.end);
    const id = seg ? seg.id : null;
    if (id === this.playingId) return;
    this.playingId = id;
    for (const node of this.list.querySelectorAll(".segment.playing")) {
      node.classList.remove("playing");
      node.removeAttribute("aria-current");
    }
    if (!id) return;
    const node = this.list.querySelector(`.segment[data-id="${CSS.escape(id)}"]`);
    if (node) {
      node.classList.add("playing");
      node.setAttribute("aria-current", "true");
      if (playing) node.scrollIntoView({ block: "nearest" });
    }
  }

  /** j/k: seek to the next (+1) or previous (-1) segment and focus its time button. */
  step(direction) {
    const segs = this.model.segments;
    if (!segs.length) return;
    const t = this.player.currentTime;
    let i = segs.findIndex((s) => s.start > t + 0.01);
    if (i < 0) i = segs.length;
    const current = segs.findIndex((s) => s.start <= t + 0.01 && t < s.end);
    let target = direction > 0 ? i : (current >= 0 ? current : i) - 1;
    target = Math.max(0, Math.min(segs.length - 1, target));
    this.player.seek(segs[target].start);
    this.focusSegment(segs[target].id);
  }

  focusSegment(id) {
    const button = this.list.querySelector(`.segment[data-id="${CSS.escape(id)}"] .time`);
    if (button) button.focus();
  }

  nextMatch() {
    const hits = [...this.list.querySelectorAll(".segment:not(.dim)")];
    if (!this.search.value.trim() || !hits.length) return;
    this.matchIndex = (this.matchIndex + 1) % hits.length;
    const node = hits[this.matchIndex];
    this.player.seek(Number(node.dataset.start));
    node.querySelector(".time").focus();
  }

  // ---- edits ----------------------------------------------------------------------------

  async send(request) {
    try {
      const edit = await request();
      this.model.reset(edit.segments, edit.version);
      this.render();
      return true;
    } catch (error) {
      if (error.status === 409 && error.code === "version_conflict") {
        this.notify(`${sentence(error.message)} The transcript has been reloaded.`);
        await this.loadResult();
      } else {
        this.notify(describe(error));
      }
      return false;
    }
  }

  /** ``enroll``: also enrol each renamed voice as a known speaker under its new name. */
  async rename(names, enroll = false) {
    const changed = Object.fromEntries(Object.entries(names).filter(([o, n]) => n.trim() && n.trim() !== o));
    if (!Object.keys(changed).length) return;
    let enrolled = {};
    const json = { version: this.model.version, names: changed, ...(enroll ? { enroll: true } : {}) };
    const ok = await this.send(async () => {
      const edit = await api(`${this.base()}/speakers`, { method: "PUT", json });
      enrolled = edit.enrolled || {};
      return edit;
    });
    const who = Object.keys(enrolled);
    if (ok && who.length) this.notify(`${who.join(", ")} ${who.length === 1 ? "was" : "were"} enrolled as a known speaker.`);
    return ok;
  }

  patch(seg, fields) {
    const path = `${this.base()}/segments/${encodeURIComponent(seg.id)}`;
    return this.send(() => api(path, { method: "PATCH", json: { version: this.model.version, ...fields } }));
  }

  editSegment(item, seg) {
    const n = seg.id.replace(/\W/g, "-");
    const text = el("textarea", { id: `edit-text-${n}` });
    text.value = seg.text;
    const speaker = el("input", { id: `edit-speaker-${n}`, value: seg.speaker || "", list: "speaker-names", maxlength: 100 });
    const names = el("datalist", { id: "speaker-names" }, this.model.speakers().map((s) => el("option", { value: s })));
    const model = el("select", { id: `edit-model-${n}`, "aria-label": "Model for re-transcription" },
      this.models().map((m) => el("option", { value: m }, m)));
    const compare = el("div", { class: "compare-box", "aria-live": "polite" });
    const save = async (event) => {
      event.preventDefault();
      const fields = {};
      if (text.value.trim() !== seg.text) fields.text = text.value;
      if (speaker.value.trim() && speaker.value.trim() !== seg.speaker) fields.speaker = speaker.value;
      if (!Object.keys(fields).length) return this.render();
      await this.patch(seg, fields);
    };
    const form = el(
      "form",
      { class: "edit-form", onsubmit: save },
      el("label", { for: text.id }, "Text"),
      text,
      el("label", { for: speaker.id }, "Speaker"),
      speaker,
      names,
      el(
        "div",
        { class: "row" },
        el("button", { type: "submit" }, "Save"),
        el("button", { type: "button", class: "quiet", onclick: () => this.render() }, "Cancel"),
        el("span", { class: "spacer" }),
        model,
        el("button", { type: "button", class: "quiet", onclick: () => this.retranscribe(seg, model.value, compare) }, "Re-transcribe"),
      ),
      compare,
    );
    item.replaceChildren(item.firstChild, form);
    text.focus();
  }

  /** Re-run the segment's span with a bigger model; show old and new, accept or reject. */
  async retranscribe(seg, modelName, box) {
    box.replaceChildren(el("p", {}, `Re-transcribing with ${modelName}…`));
    try {
      const path = `/api/retranslate/segment-from-full?job_id=${encodeURIComponent(this.jobId)}`;
      const result = await api(path, {
        method: "POST",
        json: { segment_id: seg.id, start_time: seg.start, end_time: seg.end, model_name: modelName },
      });
      box.replaceChildren(
        el("div", { class: "compare" },
          el("div", {}, el("strong", {}, "Now: "), seg.text),
          el("div", { class: "new-text" }, el("strong", {}, `${result.model_used}: `), result.text)),
        el("div", { class: "row" },
          el("button", { type: "button", onclick: () => this.patch(seg, { text: result.text }) }, "Accept"),
          el("button", { type: "button", class: "quiet", onclick: () => box.replaceChildren() }, "Reject")),
      );
    } catch (error) {
      box.replaceChildren(el("p", {}, describe(error)));
    }
  }
}

function sentence(text) {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Text with every occurrence of ``query`` in <mark>. */
function highlighted(text, query) {
  if (!query) return text;
  const parts = [];
  const lower = text.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(query); i >= 0; i = lower.indexOf(query, at)) {
    parts.push(text.slice(at, i), el("mark", {}, text.slice(i, i + query.length)));
    at = i + query.length;
  }
  parts.push(text.slice(at));
  return parts;
}
