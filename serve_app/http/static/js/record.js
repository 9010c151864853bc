// Recording from the microphone: getUserMedia -> an AudioWorklet (record-worklet.js) that
// brings the audio to 24 kHz pcm16 in 100 ms frames -> the realtime WebSocket
// (/v1/realtime?intent=transcription, OpenAI's Realtime transcription events). A level
// meter shows the input; the live transcript shows the utterance being spoken (greyed, as
// its partial text grows) and each completed line with its speaker. Stopping commits what
// is still open, waits for its text, closes the session (the server saves it as a job) and
// opens that job.

import { apiKey } from "./api.js";
import { clock, el } from "./format.js";

const RATE = 24000;
const FRAME_MS = 100;
const FINISH_MS = 15000; // after Stop: how long to wait for the last utterances' text
const DELTA = "conversation.item.input_audio_transcription.delta";
const COMPLETED = "conversation.item.input_audio_transcription.completed";
// ours, not OpenAI's: the speaker of a line completed before its voice was embedded
const SPEAKER = "conversation.item.input_audio_transcription.speaker";
const FAILED = "conversation.item.input_audio_transcription.failed";
const STOP_COMMIT = "evt_record_stop_commit"; // its "nothing to commit" answer is no error

/** The realtime session's socket; the key travels as a subprotocol, as the live one's does. */
function realtimeSocket() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const key = apiKey();
  return new WebSocket(
    `${scheme}//${location.host}/v1/realtime?intent=transcription`,
    key ? ["transcribe", `bearer.${key}`] : ["transcribe"],
  );
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export class Recorder {
  constructor({ button, level, status, lines, partial, language, notify, open }) {
    Object.assign(this, { button, level, status, lines, partial, language, notify, open });
    this.session = null;
    button.addEventListener("click", () => (this.session ? this.stop() : this.start()));
  }

  get recording() {
    return this.session !== null;
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  async start() {
    if (!navigator.mediaDevices || !window.AudioWorkletNode) {
      this.notify("This browser cannot record here (a microphone needs https or localhost).");
      return;
    }
    this.button.disabled = true;
    this.lines.replaceChildren();
    this.partial.textContent = "";
    const session = { items: new Map(), jobId: null, socket: null, stream: null, context: null, node: null, ended: false };
    this.session = session;
    try {
      this.setStatus("Asking for the microphone…");
      session.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      session.context = new AudioContext();
      await session.context.audioWorklet.addModule("/ui/js/record-worklet.js");
      await this.connect(session);
      const source = session.context.createMediaStreamSource(session.stream);
      session.node = new AudioWorkletNode(session.context, "pcm16-downsampler", {
        processorOptions: { targetRate: RATE, frameMs: FRAME_MS },
      });
      session.node.port.onmessage = (event) => this.onFrame(session, event.data);
      // Pulled by the graph through a silent gain (nothing is played back).
      const mute = new GainNode(session.context, { gain: 0 });
      source.connect(session.node).connect(mute).connect(session.context.destination);
      await session.context.resume();
      this.button.textContent = "Stop";
      this.button.setAttribute("aria-pressed", "true");
      this.setStatus("Recording");
    } catch (error) {
      this.notify(`Recording could not start: ${error && error.message ? error.message : error}`);
      this.release(session);
      this.session = null;
      this.setStatus("");
    } finally {
      this.button.disabled = false;
    }
  }

  /** Opens the session and resolves once the server has created it (its job id known). */
  connect(session) {
    return new Promise((resolve, reject) => {
      const socket = realtimeSocket();
      session.socket = socket;
      socket.addEventListener("open", () => {
        const language = this.language.value.trim();
        const transcription = language ? { language } : undefined;
        socket.send(JSON.stringify({
          type: "session.update",
          session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: RATE }, transcription, turn_detection: { type: "server_vad" } } } },
        }));
      });
      socket.addEventListener("message", (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "session.created" && event.job_id) {
          session.jobId = event.job_id;
          resolve();
        }
        this.onEvent(session, event);
      });
      socket.addEventListener("close", (event) => {
        if (!session.jobId) reject(new Error(event.reason || "the server closed the connection"));
        else if (!session.ended && this.session === session) this.finish(session, "The connection to the server was lost.");
      });
      socket.addEventListener("error", () => {
        if (!session.jobId) reject(new Error("the realtime connection failed"));
      });
    });
  }

  onFrame(session, data) {
    if (data.level !== undefined) this.level.value = Math.min(1, data.level * 4);
    if (data.pcm && session.socket && session.socket.readyState === WebSocket.OPEN) {
      session.socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: toBase64(data.pcm) }));
    }
    if (data.done) session.flushed?.();
  }

  item(session, id) {
    if (!session.items.has(id)) session.items.set(id, { partial: "", done: false, stopped: false });
    return session.items.get(id);
  }

  onEvent(session, event) {
    if (event.type === "error") {
      if (event.error && event.error.event_id === STOP_COMMIT) session.answered = true;
      else this.notify(`The recording server says: ${event.error ? event.error.message : "error"}`);
    } else if (event.type === "input_audio_buffer.speech_started") {
      this.item(session, event.item_id);
    } else if (event.type === "input_audio_buffer.speech_stopped") {
      this.item(session, event.item_id).stopped = true;
    } else if (event.type === "input_audio_buffer.committed") {
      // turn detection's commits follow speech_stopped; one without answers Stop's commit
      if (!this.item(session, event.item_id).stopped) session.answered = true;
    } else if (event.type === DELTA) {
      const item = this.item(session, event.item_id);
      item.partial += event.delta || "";
    } else if (event.type === COMPLETED || event.type === FAILED) {
      const item = this.item(session, event.item_id);
      item.done = true;
      const text = (event.transcript || "").trim();
      if (text) {
        const speaker = el("span", { class: "speaker" }, event.speaker ? `${event.speaker}: ` : "");
        item.line = el("li", {}, el("span", { class: "time" }, `${clock(event.start)} `), speaker, text);
        this.lines.append(item.line);
      }
    } else if (event.type === SPEAKER) {
      const line = this.item(session, event.item_id).line;
      if (line && event.speaker) line.querySelector(".speaker").textContent = `${event.speaker}: `;
    }
    const open = [...session.items.values()].filter((i) => !i.done && i.partial);
    this.partial.textContent = open.map((i) => i.partial.trim()).join(" ");
    session.settled?.();
  }

  /** Stop: flush the worklet, commit what is open, wait for its text, close, open the job. */
  async stop() {
    const session = this.session;
    if (!session || session.ended) return;
    this.button.disabled = true;
    this.setStatus("Finishing…");
    if (session.node) {
      await new Promise((resolve) => {
        session.flushed = resolve;
        session.node.port.postMessage("stop");
        setTimeout(resolve, 1000);
      });
    }
    for (const track of session.stream ? session.stream.getTracks() : []) track.stop();
    const socket = session.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      // The server answers this commit after all the audio before it: then every
      // utterance is known, and Stop waits for their text.
      session.answered = false;
      socket.send(JSON.stringify({ type: "input_audio_buffer.commit", event_id: STOP_COMMIT }));
      const finished = () => session.answered && ![...session.items.values()].some((i) => !i.done);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, FINISH_MS);
        session.settled = () => {
          if (finished()) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
    }
    this.finish(session, "");
  }

  finish(session, problem) {
    session.ended = true;
    this.release(session);
    this.session = null;
    this.level.value = 0;
    this.button.textContent = "Record";
    this.button.setAttribute("aria-pressed", "false");
    this.button.disabled = false;
    this.setStatus(session.jobId ? "Saved" : "");
    if (problem) this.notify(problem);
    if (session.jobId) this.open(session.jobId);
  }

  release(session) {
    if (session.socket && session.socket.readyState <= WebSocket.OPEN) session.socket.close(1000);
    for (const track of session.stream ? session.stream.getTracks() : []) track.stop();
    if (session.context && session.context.state !== "closed") session.context.close();
  }
}
