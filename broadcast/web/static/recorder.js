// Recording from the microphone with MediaRecorder: Opus in WebM where the browser offers it (Chromium, Firefox),
// whatever it records otherwise (Safari: MP4/AAC); the server's ffmpeg normalizes any of them.

const PREFERRED = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
const EXTENSIONS = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" };

export const canRecord = () =>
  Boolean(navigator.mediaDevices?.getUserMedia) && typeof window.MediaRecorder === "function";

export class Recorder {
  #stream = null;
  #recorder = null;
  #chunks = [];

  async start() {
    this.#stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    const mimeType = PREFERRED.find((type) => MediaRecorder.isTypeSupported(type));
    this.#recorder = new MediaRecorder(this.#stream, mimeType ? { mimeType } : undefined);
    this.#chunks = [];
    this.#recorder.addEventListener("dataavailable", (event) => { if (event.data.size) this.#chunks.push(event.data); });
    this.#recorder.start(1000); // a chunk a second: a long recording never sits in one buffer
  }

  // Resolves with the recording and the file name extension its type calls for.
  stop() {
    return new Promise((resolve) => {
      this.#recorder.addEventListener("stop", () => {
        this.#stream.getTracks().forEach((track) => track.stop()); // the browser's "recording" light goes off
        const type = (this.#recorder.mimeType || "audio/webm").split(";")[0];
        resolve({ blob: new Blob(this.#chunks, { type }), extension: EXTENSIONS[type] || "webm" });
      }, { once: true });
      this.#recorder.stop();
    });
  }

  get recording() {
    return this.#recorder?.state === "recording";
  }
}
