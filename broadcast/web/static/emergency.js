// The emergency flow in the browser: show the panel of the chosen content, record from the microphone into the
// form's file field (MediaRecorder), and send once. Without it the form still works: every panel shows, and a
// phone's file picker can record.

const form = document.querySelector("[data-emergency-form]");

function showChosenPanel() {
  const chosen = form.querySelector("[data-source]:checked")?.value;
  form.querySelectorAll("[data-panel]").forEach((panel) => { panel.hidden = panel.dataset.panel !== chosen; });
}

function extensionOf(type) {
  if (type.includes("ogg")) return "ogg";
  if (type.includes("mp4") || type.includes("aac")) return "m4a";
  return "webm";
}

function setUpRecorder() {
  const box = form.querySelector("[data-recorder]");
  const input = form.querySelector("input[name=recording_file]");
  if (!box || !input || !window.MediaRecorder || !navigator.mediaDevices?.getUserMedia) return;
  const button = box.querySelector("[data-record]");
  const clock = box.querySelector("[data-record-time]");
  const preview = box.querySelector("[data-record-preview]");
  let recorder = null;
  let started = 0;
  let ticker = 0;
  box.hidden = false;
  button.setAttribute("aria-pressed", "false");

  const stopTicker = () => { clearInterval(ticker); ticker = 0; };
  const tick = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    clock.textContent = `Đang ghi ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };

  button.addEventListener("click", async () => {
    if (recorder && recorder.state === "recording") {
      recorder.stop();
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      clock.textContent = "Không mở được micrô: hãy cho phép trình duyệt dùng micrô, hoặc chọn tệp ghi âm.";
      return;
    }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      stopTicker();
      const type = recorder.mimeType || "audio/webm";
      const file = new File(chunks, `ghi-am.${extensionOf(type)}`, { type });
      const transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
      button.textContent = "● Ghi lại";
      button.setAttribute("aria-pressed", "false");
      clock.textContent = `Đã ghi ${clock.textContent.replace("Đang ghi ", "")}: nghe lại rồi tiếp tục.`;
    });
    recorder.start();
    started = Date.now();
    tick();
    ticker = setInterval(tick, 500);
    button.textContent = "■ Dừng ghi";
    button.setAttribute("aria-pressed", "true");
  });
}

if (form) {
  form.querySelectorAll("[data-source]").forEach((radio) => radio.addEventListener("change", showChosenPanel));
  showChosenPanel();
  setUpRecorder();
}

// One emergency per confirmation: a second tap while the first is being sent does nothing.
const sendForm = document.querySelector("[data-send-form]");
sendForm?.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button?.matches("[data-send]")) return;
  if (sendForm.dataset.sending) {
    event.preventDefault();
    return;
  }
  sendForm.dataset.sending = "1";
  setTimeout(() => { button.disabled = true; button.textContent = "Đang gửi lệnh…"; }, 0);
});
