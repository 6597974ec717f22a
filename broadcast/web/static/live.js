// Live broadcast page: the microphone, recorded by MediaRecorder as Opus in WebM, sent every 250 ms over the
// session's WebSocket (the page's session cookie signs it in). A level meter, the elapsed time and the devices'
// counters (refreshed by htmx) show it works; "Dừng phát" ends the session and links to its page and recording.

const MIME = ["audio/webm;codecs=opus", "audio/webm"];
const TIMESLICE_MS = 250;

const form = document.querySelector("[data-live-form]");
if (form) setUp(form);

function setUp(form) {
  const $ = (name) => form.querySelector(`[data-live-${name}]`);
  const startButton = $("start"), stopButton = $("stop"), errorBox = $("error"), statusBox = $("status");
  const elapsedBox = $("elapsed"), meter = $("level"), reachBox = $("reach"), doneBox = $("done"), pageLink = $("page");
  let stream = null, recorder = null, socket = null, audio = null, timer = null, session = null, ended = false;

  const showError = (message) => { errorBox.textContent = message; errorBox.hidden = !message; };
  const lockTargets = (locked) => form.querySelectorAll("input").forEach((input) => {
    if (input.type !== "hidden") input.disabled = locked;
  });

  async function loadReach() {
    const response = await fetch(session.reach, { credentials: "same-origin" });
    if (!response.ok) return;
    reachBox.innerHTML = await response.text();
    window.htmx?.process(reachBox);
  }

  function meterLoop() {
    audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    audio.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      if (!audio) return;
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      requestAnimationFrame(tick);
    };
    tick();
  }

  function cleanUp() {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    stream?.getTracks().forEach((track) => track.stop());
    audio?.close();
    audio = null;
    clearInterval(timer);
    stopButton.hidden = true;
  }

  function finished(message) {
    if (ended) return;
    ended = true;
    cleanUp();
    if (message) showError(message);
    pageLink.href = session.page;
    doneBox.hidden = false;
    startButton.hidden = false;
    startButton.disabled = false;
    lockTargets(false);
    loadReach();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    ended = false;
    doneBox.hidden = true;
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder !== "function") {
      showError("Trình duyệt này không ghi âm được; hãy dùng Chrome hoặc Firefox bản mới.");
      return;
    }
    startButton.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch {
      startButton.disabled = false;
      showError("Không mở được micro: hãy cho phép trang dùng micro rồi thử lại.");
      return;
    }
    const body = new FormData(form);
    const response = await fetch(form.action, { method: "POST", body, credentials: "same-origin",
                                                  headers: { "X-CSRF-Token": body.get("csrf_token") } });
    const answer = await response.json().catch(() => ({}));
    if (response.status !== 201) {
      stream.getTracks().forEach((track) => track.stop());
      startButton.disabled = false;
      showError(answer.message || "Không bắt đầu được phiên phát trực tiếp.");
      return;
    }
    session = answer;
    lockTargets(true);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${session.ws_path}`);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "ready") {
        const mimeType = MIME.find((type) => MediaRecorder.isTypeSupported(type));
        recorder = new MediaRecorder(stream, mimeType ? { mimeType, audioBitsPerSecond: 48000 } : undefined);
        recorder.addEventListener("dataavailable", async (chunk) => {
          if (chunk.data.size && socket.readyState === WebSocket.OPEN) socket.send(await chunk.data.arrayBuffer());
        });
        recorder.start(TIMESLICE_MS);
        const started = Date.now();
        timer = setInterval(() => {
          const seconds = Math.floor((Date.now() - started) / 1000);
          elapsedBox.textContent = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
        }, 500);
        statusBox.hidden = false;
        startButton.hidden = true;
        stopButton.hidden = false;
        meterLoop();
        loadReach();
      } else if (data.type === "ended") {
        finished(data.status === "ended" ? "" : "Phiên phát đã kết thúc do mất kết nối hoặc không có âm thanh.");
      } else if (data.type === "error") {
        finished(data.message);
      }
    });
    socket.addEventListener("close", () => finished(ended ? "" : "Mất kết nối với máy chủ; loa đã được lệnh dừng."));
  });

  stopButton.addEventListener("click", () => {
    stopButton.disabled = true;
    if (recorder && recorder.state !== "inactive") recorder.stop();
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
    setTimeout(() => { stopButton.disabled = false; }, 2000);
  });
}
