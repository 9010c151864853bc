// The Speakers view (#/speakers): the key's enrolled people. List, rename, delete (which
// erases every voiceprint of the person), play a sample (the job's audio over the spans the
// voiceprint was made of), and enrol: from audio clips, or from a speaker of a job.

import { api, describe } from "./api.js";
import { clock, el } from "./format.js";

const SAMPLE_S = 8;

/** Seconds of speech a sample was made of. */
function speech(sample) {
  const source = sample.source || {};
  if (source.speech_s) return source.speech_s;
  return (source.spans || []).reduce((sum, [a, b]) => sum + Math.max(0, b - a), 0);
}

function describeSource(source) {
  if (source.kind === "job") return `job ${source.job_id}, ${source.speaker}`;
  return source.filename ? `clip ${source.filename}` : "uploaded clip";
}

function relabelling(created) {
  return created.relabel_job_id ? " Your finished jobs are being relabelled." : "";
}

export class SpeakersView {
  constructor({ list, status, clipForm, jobForm, jobInput, jobSpeaker, jobSpeakers, notify }) {
    Object.assign(this, { list, status, clipForm, jobForm, jobInput, jobSpeaker, jobSpeakers, notify });
    this.speakers = [];
    this.audio = el("audio", { id: "sample-audio", preload: "auto" });
    list.after(this.audio);
    this.stopAt = null;
    this.audio.addEventListener("timeupdate", () => {
      if (this.stopAt !== null && this.audio.currentTime >= this.stopAt) this.audio.pause();
    });
    this.blobs = new Map(); // job id -> blob URL of its audio
    clipForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.enrolClips();
    });
    jobForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.enrolFromJob();
    });
    jobInput.addEventListener("change", () => this.loadJobSpeakers(jobInput.value.trim()));
  }

  /** Open the view; ``jobId``: a job whose speakers the enrol form offers. */
  async open(jobId) {
    this.status.textContent = "";
    if (jobId) {
      this.jobInput.value = jobId;
      await this.loadJobSpeakers(jobId);
    }
    await this.refresh();
  }

  async refresh() {
    try {
      const body = await api("/api/speakers");
      this.speakers = Array.isArray(body) ? body : body.speakers || [];
      this.render();
    } catch (error) {
      this.notify(describe(error));
    }
  }

  render() {
    if (!this.speakers.length) {
      this.list.replaceChildren(el("li", { class: "hint" }, "Nobody is enrolled yet."));
      return;
    }
    this.list.replaceChildren(...this.speakers.map((s, i) => this.row(s, i)));
  }

  row(speaker, i) {
    const nameId = `enrolled-name-${i}`;
    const input = el("input", { id: nameId, value: speaker.name, maxlength: 100, required: true });
    const rename = el("form", { class: "row rename-form" },
      el("label", { for: nameId }, "Name"), input, el("button", { type: "submit" }, "Rename"));
    rename.addEventListener("submit", (e) => {
      e.preventDefault();
      this.rename(speaker, input.value.trim());
    });
    const samples = speaker.samples || [];
    const seconds = samples.reduce((sum, s) => sum + speech(s), 0);
    const playable = samples.find((s) => s.source && s.source.kind === "job" && s.source.job_id);
    const play = el("button", { type: "button", class: "play-sample", disabled: !playable },
      playable ? "Play a sample" : "No sample audio kept");
    play.addEventListener("click", () => this.play(speaker, playable));
    const remove = el("button", { type: "button", class: "quiet delete-speaker" }, "Delete");
    remove.addEventListener("click", () => this.remove(speaker));
    return el("li", { class: "enrolled", dataset: { id: speaker.id } },
      rename,
      el("p", { class: "hint" },
        `${samples.length} sample${samples.length === 1 ? "" : "s"}`,
        seconds > 0 ? `, ${Math.round(seconds)} s of speech` : "",
        samples.length ? ` · ${samples.map((s) => describeSource(s.source || {})).join("; ")}` : ""),
      el("div", { class: "row" }, play, remove));
  }

  async rename(speaker, name) {
    if (!name || name === speaker.name) return;
    try {
      await api(`/api/speakers/${encodeURIComponent(speaker.id)}`, { method: "PATCH", json: { name } });
      this.status.textContent = `Renamed to ${name}.`;
      await this.refresh();
    } catch (error) {
      this.notify(describe(error));
    }
  }

  async remove(speaker) {
    if (!window.confirm(`Delete ${speaker.name} and every voiceprint kept of this voice?`)) return;
    try {
      await api(`/api/speakers/${encodeURIComponent(speaker.id)}`, { method: "DELETE", raw: true });
      this.status.textContent = `${speaker.name} was deleted, with every voiceprint.`;
      await this.refresh();
    } catch (error) {
      this.notify(describe(error));
    }
  }

  /** Where a job sample's voice speaks: its first recorded span, or else the longest
   *  segment of the job this voice speaks (by its label, or as this person now). */
  async span(speaker, source) {
    if ((source.spans || []).length) return source.spans[0];
    const result = await api(`/api/transcribe/result/${encodeURIComponent(source.job_id)}?format=json`);
    const own = (result.segments || []).filter((s) => s.speaker === source.speaker || s.speaker_id === speaker.id);
    if (!own.length) throw new Error(`job ${source.job_id} has no speech of this voice left`);
    const longest = own.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    return [longest.start, Math.min(longest.end, longest.start + SAMPLE_S)];
  }

  /** The job's audio over a span of this voice (the audio is fetched with the key). */
  async play(speaker, sample) {
    const jobId = sample.source.job_id;
    try {
      const [start, end] = await this.span(speaker, sample.source);
      if (!this.blobs.has(jobId)) {
        const response = await api(`/api/transcribe/audio/${encodeURIComponent(jobId)}`, { raw: true });
        this.blobs.set(jobId, URL.createObjectURL(await response.blob()));
      }
      const url = this.blobs.get(jobId);
      if (this.audio.src !== url) {
        this.audio.src = url;
        await new Promise((resolve) => this.audio.addEventListener("loadedmetadata", resolve, { once: true }));
      }
      this.stopAt = end;
      this.audio.currentTime = start;
      await this.audio.play();
      this.status.textContent = `Playing ${clock(start)} to ${clock(end)} of job ${jobId}.`;
    } catch (error) {
      this.notify(`The sample cannot be played: ${describe(error)}`);
    }
  }

  async enrolClips() {
    const form = new FormData(this.clipForm);
    try {
      const created = await api("/api/speakers", { method: "POST", form });
      this.clipForm.reset();
      this.status.textContent = `${created.name} was enrolled.${relabelling(created)}`;
      await this.refresh();
    } catch (error) {
      this.notify(describe(error));
    }
  }

  async enrolFromJob() {
    const form = new FormData(this.jobForm);
    const json = {
      name: form.get("name"), job_id: form.get("job_id"), speaker: form.get("speaker"), relabel: form.has("relabel"),
    };
    try {
      const created = await api("/api/speakers", { method: "POST", json });
      this.jobForm.reset();
      this.status.textContent = `${created.name} was enrolled from job ${json.job_id}.${relabelling(created)}`;
      await this.refresh();
    } catch (error) {
      this.notify(describe(error));
    }
  }

  /** The job's speaker labels, offered as the choices of the speaker field. */
  async loadJobSpeakers(jobId) {
    this.jobSpeakers.replaceChildren();
    if (!jobId) return;
    try {
      const result = await api(`/api/transcribe/result/${encodeURIComponent(jobId)}?format=json`);
      const names = [...new Set((result.segments || []).map((s) => s.speaker).filter(Boolean))];
      this.jobSpeakers.replaceChildren(...names.map((n) => el("option", { value: n })));
      if (names.length && !this.jobSpeaker.value) this.jobSpeaker.value = names[0];
    } catch (error) {
      this.notify(describe(error));
    }
  }

  unload() {
    this.audio.pause();
    this.stopAt = null;
  }
}
