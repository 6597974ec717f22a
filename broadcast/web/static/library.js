// The library page: each chosen file sent on its own with a progress bar, the microphone recorder, the voice
// preview. Without JavaScript the forms post as they are (every file at once; the preview opens in a new tab).
import { Recorder, canRecord } from "./recorder.js";

const assetList = document.querySelector("[data-assets]");
const emptyNote = document.querySelector("[data-empty]");

const errorOf = (status, body) => {
  try {
    return JSON.parse(body).error.message;
  } catch {
    return `Máy chủ trả lời lỗi ${status}; chưa lưu được.`;
  }
};

// A new asset's card at the top of the list; htmx then polls it until the asset is ready.
function showCard(html) {
  if (!assetList) return;
  assetList.insertAdjacentHTML("afterbegin", html);
  window.htmx?.process(assetList.firstElementChild);
  if (emptyNote) emptyNote.hidden = true;
}

function progressLine(list, name) {
  const item = document.createElement("li");
  const label = Object.assign(document.createElement("span"), { className: "name", textContent: name });
  const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Tiến độ tải lên: ${name}`);
  const state = Object.assign(document.createElement("span"), { className: "small", textContent: "Đang chờ…" });
  item.append(label, bar, state);
  list.append(item);
  return { bar, state };
}

const finish = (line, text, ok) => {
  line.state.textContent = text;
  line.state.classList.add(ok ? "done" : "failed");
};

// One file to the page's upload endpoint with the form's other fields; resolves with whether the library took it.
function send(form, file, fileName, title, line) {
  return new Promise((resolve) => {
    const data = new FormData(form);
    data.delete("file");
    data.append("file", file, fileName);
    data.set("title", title);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      line.bar.value = Math.round((event.loaded * 100) / event.total);
      line.state.textContent = `Đang tải lên ${line.bar.value}%`;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) {
        line.bar.value = 100;
        finish(line, "Đã tải lên; tình trạng chuẩn hóa âm lượng ở thẻ của tệp bên dưới.", true);
        showCard(xhr.responseText);
        resolve(true);
      } else {
        finish(line, errorOf(xhr.status, xhr.responseText), false);
        resolve(false);
      }
    });
    xhr.addEventListener("error", () => {
      finish(line, "Mất kết nối tới máy chủ; tệp chưa được tải lên.", false);
      resolve(false);
    });
    line.state.textContent = "Đang tải lên 0%";
    xhr.send(data);
  });
}

const progressListOf = (form) => form.closest(".tool").querySelector("[data-progress]");

// Upload: the files one after another, so each bar moves on its own and a weak link is not shared by all.
const uploadForm = document.querySelector("[data-upload]");
uploadForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = uploadForm.elements.file;
  const files = [...input.files];
  if (!files.length) return;
  const list = progressListOf(uploadForm);
  list.replaceChildren();
  const lines = files.map((file) => progressLine(list, file.name));
  const title = uploadForm.elements.title.value.trim();
  const button = uploadForm.querySelector("button[type=submit]");
  button.disabled = true;
  for (const [index, file] of files.entries()) {
    const named = title && files.length > 1 ? `${title} (${index + 1})` : title; // empty: the server takes the file name
    await send(uploadForm, file, file.name, named, lines[index]);
  }
  button.disabled = false;
  input.value = "";
});

// Microphone: record, stop, listen back, then save through the same upload.
const recorderSection = document.querySelector("[data-recorder]");
if (recorderSection && canRecord()) {
  recorderSection.hidden = false;
  const form = recorderSection.querySelector("[data-record-form]");
  const startButton = form.querySelector("[data-record-start]");
  const stopButton = form.querySelector("[data-record-stop]");
  const saveButton = form.querySelector("[data-record-save]");
  const status = form.querySelector("[data-record-status]");
  const playback = form.querySelector("[data-record-playback]");
  let recorder = null;
  let take = null;
  let started = 0;
  let ticker = 0;

  const say = (text, recording = false) => {
    status.textContent = text;
    status.classList.toggle("recording", recording);
  };

  startButton.addEventListener("click", async () => {
    take = null;
    saveButton.disabled = true;
    playback.hidden = true;
    try {
      recorder = new Recorder();
      await recorder.start();
    } catch {
      say("Không mở được micrô. Hãy cho phép trang này dùng micrô rồi thử lại.");
      return;
    }
    startButton.disabled = true;
    stopButton.disabled = false;
    stopButton.focus();
    started = Date.now();
    say("Đang ghi âm… 0 giây", true);
    ticker = window.setInterval(() => say(`Đang ghi âm… ${Math.round((Date.now() - started) / 1000)} giây`, true), 1000);
  });

  stopButton.addEventListener("click", async () => {
    if (!recorder?.recording) return;
    window.clearInterval(ticker);
    take = await recorder.stop();
    if (playback.src) URL.revokeObjectURL(playback.src);
    playback.src = URL.createObjectURL(take.blob);
    playback.hidden = false;
    stopButton.disabled = true;
    startButton.disabled = false;
    startButton.textContent = "Ghi lại";
    saveButton.disabled = false;
    say(`Đã ghi ${Math.round((Date.now() - started) / 1000)} giây. Nghe lại, rồi bấm “Lưu bản ghi”.`);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!take) return;
    saveButton.disabled = true;
    const title = form.elements.title.value.trim();
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "");
    const line = progressLine(progressListOf(form), title);
    if (await send(form, take.blob, `ghi-am-${stamp}.${take.extension}`, title, line)) {
      take = null;
      form.elements.title.value = "";
      startButton.textContent = "Ghi âm";
      say("Đã lưu bản ghi vào thư viện.");
    } else {
      saveButton.disabled = false;
    }
  });
}

// Voice preview: the opening of the text in the chosen voice, played here instead of in a new tab.
const ttsForm = document.querySelector("[data-tts]");
const previewButton = ttsForm?.querySelector("[data-preview]");
previewButton?.addEventListener("click", async (event) => {
  event.preventDefault();
  const status = ttsForm.querySelector("[data-preview-status]");
  const player = ttsForm.querySelector("[data-preview-audio]");
  if (!ttsForm.elements.text.value.trim()) {
    status.textContent = "Hãy nhập văn bản cần đọc trước khi nghe thử.";
    ttsForm.elements.text.focus();
    return;
  }
  previewButton.disabled = true;
  status.textContent = "Đang tạo bản nghe thử…";
  try {
    const response = await fetch(previewButton.formAction, {
      method: "POST", body: new URLSearchParams(new FormData(ttsForm)), credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    });
    if (!response.ok) {
      status.textContent = errorOf(response.status, await response.text());
      return;
    }
    if (player.src) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(await response.blob());
    player.hidden = false;
    status.textContent = "Bản nghe thử đã sẵn sàng.";
    player.play().catch(() => {}); // autoplay may be refused; the controls are there
  } catch {
    status.textContent = "Mất kết nối tới máy chủ; chưa nghe thử được.";
  } finally {
    previewButton.disabled = false;
  }
});

// Deleting asks first (the plain form deletes at once without JavaScript).
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
