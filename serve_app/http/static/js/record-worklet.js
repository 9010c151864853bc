// The microphone's audio (at the AudioContext's rate, often 48 kHz) folded to mono, brought
// to 24 kHz pcm16 (each output sample the mean of the input samples it covers: a box filter
// against aliasing, enough for speech) and posted in frames of 100 ms with the frame's level.
// Runs on the audio rendering thread; record.js loads it with audioWorklet.addModule.

class Pcm16Downsampler extends AudioWorkletProcessor {
  constructor({ processorOptions = {} } = {}) {
    super();
    const targetRate = processorOptions.targetRate || 24000;
    const frameMs = processorOptions.frameMs || 100;
    this.ratio = sampleRate / targetRate; // input samples per output sample
    this.frame = new Int16Array(Math.round((targetRate * frameMs) / 1000));
    this.filled = 0;
    this.sum = 0;
    this.count = 0;
    this.phase = 0;
    this.last = 0;
    this.squares = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data === "stop") {
        this.flush();
        this.port.postMessage({ done: true });
        this.running = false;
      }
    };
  }

  flush() {
    if (!this.filled) return;
    const pcm = this.frame.slice(0, this.filled);
    const level = Math.sqrt(this.squares / this.filled);
    this.port.postMessage({ pcm: pcm.buffer, level }, [pcm.buffer]);
    this.filled = 0;
    this.squares = 0;
  }

  emit(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.frame[this.filled++] = Math.round(clamped * 32767);
    this.squares += clamped * clamped;
    if (this.filled === this.frame.length) this.flush();
  }

  process(inputs) {
    const channels = inputs[0];
    if (!this.running) return false;
    if (!channels || !channels.length) return true;
    const length = channels[0].length;
    for (let i = 0; i < length; i++) {
      let x = 0;
      for (const channel of channels) x += channel[i];
      x /= channels.length;
      this.sum += x;
      this.count += 1;
      this.phase += 1;
      // Below 24 kHz input (rare) one input sample gives several outputs: repeat it.
      while (this.phase >= this.ratio) {
        const value = this.count ? this.sum / this.count : this.last;
        this.last = value;
        this.sum = 0;
        this.count = 0;
        this.phase -= this.ratio;
        this.emit(value);
      }
    }
    return true;
  }
}

registerProcessor("pcm16-downsampler", Pcm16Downsampler);
