// The summary and chat panels: both send the transcript as it is now (edits included).

import { api, describe, postEvents } from "./api.js";
import { el } from "./format.js";

const POLL_MS = 1000;

function stamp(seconds) {
  const s = Math.floor(seconds);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

function seekButton(start, label, seek, cls) {
  return el("button", { type: "button", class: cls, "aria-label": `Play from ${stamp(start)}: ${label}`, onclick: () => seek(start) }, `[${stamp(start)}]`);
}

export class SummaryPanel {
  constructor({ form, format, length, status, text, actionsTitle, actions, transcript, seek }) {
    Object.assign(this, { form, format, length, status, text, actionsTitle, actions, transcript, seek });
    this.run = 0;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.summarise();
    });
  }

  clear() {
    this.run += 1;
    this.status.textContent = "";
    this.text.textContent = "";
    this.actions.replaceChildren();
    this.actionsTitle.hidden = true;
  }

  async summarise() {
    this.clear();
    const run = this.run;
    const button = this.form.querySelector("button");
    button.disabled = true;
    try {
      this.status.textContent = "Starting the summary…";
      const job = await api("/api/summary/", {
        method: "POST",
        json: { transcript: this.transcript(), format: this.format.value, max_length: Number(this.length.value) || 200 },
      });
      for (;;) {
        const state = await api(`/api/summary/status/${job.job_id}`);
        if (run !== this.run) return;
        if (state.status !== "processing") break;
        this.status.textContent = `${state.message} (${Math.round(state.progress)}%)`;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const result = await api(`/api/summary/${job.job_id}`);
      if (run !== this.run) return;
      this.status.textContent = `Summary by ${result.model_used}, ${result.length} words.`;
      // An empty summary is an answer: nothing the model wrote was backed by the transcript.
      this.text.textContent = result.summary.trim() ||
        "No summary: none of the model's notes was backed by the lines it cited.";
      this.text.classList.toggle("empty", !result.summary.trim());
      this.actionsTitle.hidden = result.action_items.length === 0;
      this.actions.replaceChildren(
        ...result.action_items.map((item) =>
          el("li", { class: "action-item" },
            item.source ? seekButton(item.source.start, item.task, this.seek, "quiet source") : null,
            " ", el("strong", {}, item.owner), `: ${item.task}`, item.due ? ` (due ${item.due})` : ""),
        ),
      );
    } catch (error) {
      if (run === this.run) this.status.textContent = describe(error);
    } finally {
      button.disabled = false;
    }
  }
}

export class ChatPanel {
  constructor({ form, input, log, transcript, seek }) {
    Object.assign(this, { form, input, log, transcript, seek });
    this.messages = [];
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.ask();
    });
  }

  clear() {
    this.messages = [];
    this.log.replaceChildren();
  }

  async ask() {
    const question = this.input.value.trim();
    if (!question) return;
    this.input.value = "";
    const button = this.form.querySelector("button");
    button.disabled = true;
    const answer = el("div", { class: "a" });
    const cites = el("div", { class: "citations" });
    const turn = el("div", { class: "turn" }, el("p", { class: "q" }, question), answer, cites);
    this.log.append(turn);
    const messages = [...this.messages, { role: "user", content: question }];
    let text = "";
    let done = null;
    try {
      await postEvents("/api/chat/", { transcript: this.transcript(), messages, stream: true }, (event) => {
        if (event.delta) {
          text += event.delta;
          answer.textContent = text;
        } else if (event.done) {
          done = event;
        }
      });
      if (!done) throw new Error("the answer was cut off: the server stopped streaming");
      this.messages = [...messages, { role: "assistant", content: text }];
      cites.replaceChildren(
        ...done.citations.map((c) =>
          seekButton(c.start, `${c.speaker || ""} ${c.text}`, this.seek, "quiet citation")),
      );
      turn.dataset.done = "true";
    } catch (error) {
      answer.textContent = describe(error);
      turn.dataset.done = "error";
    } finally {
      button.disabled = false;
    }
  }
}
