// The audio player: wavesurfer.js (vendored) drawing the waveform of an <audio> element.

import WaveSurfer from "../vendor/wavesurfer.esm.js";
import { api } from "./api.js";
import { clock } from "./format.js";

export class Player {
  constructor({ container, button, speed, time, onTime }) {
    this.audio = document.createElement("audio");
    this.audio.id = "audio";
    this.audio.preload = "auto";
    container.after(this.audio);
    this.button = button;
    this.time = time;
    this.wave = WaveSurfer.create({
      container,
      media: this.audio,
      height: 64,
      waveColor: "#8aa4c0",
      progressColor: "#0b5cad",
      cursorColor: "#1b1f24",
      dragToSeek: true,
    });
    this.url = null;
    button.addEventListener("click", () => this.toggle());
    speed.addEventListener("change", () => this.setRate(Number(speed.value)));
    const tick = () => {
      time.textContent = `${clock(this.audio.currentTime)} / ${clock(this.audio.duration || 0)}`;
      onTime(this.audio.currentTime, !this.audio.paused);
    };
    this.audio.addEventListener("timeupdate", tick);
    this.audio.addEventListener("seeked", tick);
    this.audio.addEventListener("play", () => (button.textContent = "Pause"));
    this.audio.addEventListener("pause", () => (button.textContent = "Play"));
  }

  /** Fetch the job's audio with the API key, then play it from a blob URL. */
  async load(jobId) {
    const response = await api(`/api/transcribe/audio/${encodeURIComponent(jobId)}`, { raw: true });
    const blob = await response.blob();
    this.unload();
    this.url = URL.createObjectURL(blob);
    await this.wave.load(this.url);
  }

  unload() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.audio.pause();
  }

  toggle() {
    if (!this.url) return;
    if (this.audio.paused) this.audio.play();
    else this.audio.pause();
  }

  seek(seconds) {
    if (!this.url) return;
    this.wave.setTime(seconds);
  }

  setRate(rate) {
    this.wave.setPlaybackRate(rate, true);
  }

  get currentTime() {
    return this.audio.currentTime;
  }
}
