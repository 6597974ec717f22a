// The programme form: audio rows moved up and down, removed and added; legal references added; only the chosen kind
// of content shown. Moving swaps the values of the numbered <select>s, so the form posts what it posts without us.

const form = document.querySelector("[data-programme-form]");

// Audio or relay stream: hide the part not chosen (without JavaScript both show; the choice decides).
const parts = form?.querySelectorAll("[data-content]") ?? [];
const showChosen = () => {
  const chosen = form.querySelector("[data-content-choice]:checked")?.value ?? "audio";
  parts.forEach((part) => { part.hidden = part.dataset.content !== chosen; });
};
form?.querySelectorAll("[data-content-choice]").forEach((radio) => radio.addEventListener("change", showChosen));
if (form) showChosen();

const list = form?.querySelector("[data-items]");
const MAX_ITEMS = 50;
const rows = () => [...list.querySelectorAll("[data-item]")];
const selectOf = (row) => row.querySelector("select");

function button(text, label, action) {
  const made = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: text });
  made.setAttribute("aria-label", label);
  made.dataset.action = action;
  return made;
}

// Number every row again (labels, ids, names, the buttons' spoken labels) after adding one.
function renumber() {
  rows().forEach((row, index) => {
    const n = index + 1;
    const select = selectOf(row);
    select.id = `tep-${n}`;
    select.name = `item_${n}`;
    const label = row.querySelector("[data-item-label]");
    label.htmlFor = select.id;
    label.textContent = `Tệp thứ ${n}`;
    row.querySelector("[data-action=up]").setAttribute("aria-label", `Đưa tệp thứ ${n} lên trên`);
    row.querySelector("[data-action=down]").setAttribute("aria-label", `Đưa tệp thứ ${n} xuống dưới`);
    row.querySelector("[data-action=remove]").setAttribute("aria-label", `Bỏ tệp thứ ${n}`);
  });
}

function addMoves(row) {
  const moves = document.createElement("div");
  moves.className = "moves";
  moves.append(button("↑ Lên", "", "up"), button("↓ Xuống", "", "down"), button("Bỏ", "", "remove"));
  row.append(moves);
}

function swap(a, b) {
  const first = selectOf(a);
  const second = selectOf(b);
  [first.value, second.value] = [second.value, first.value];
}

if (list) {
  rows().forEach(addMoves);
  const add = Object.assign(document.createElement("button"), {
    type: "button", className: "secondary add-row", textContent: "Thêm dòng chọn tệp",
  });
  list.after(add);
  add.addEventListener("click", () => {
    const all = rows();
    if (all.length >= MAX_ITEMS) return;
    const copy = all[all.length - 1].cloneNode(true);
    selectOf(copy).value = "";
    list.append(copy);
    renumber();
    selectOf(copy).focus();
    add.hidden = rows().length >= MAX_ITEMS;
  });
  list.addEventListener("click", (event) => {
    const pressed = event.target.closest("button[data-action]");
    if (!pressed) return;
    const all = rows();
    const row = pressed.closest("[data-item]");
    const index = all.indexOf(row);
    const action = pressed.dataset.action;
    if (action === "up" && index > 0) {
      swap(row, all[index - 1]);
      all[index - 1].querySelector("[data-action=up]").focus(); // the focus follows the moved file
    } else if (action === "down" && index < all.length - 1) {
      swap(row, all[index + 1]);
      all[index + 1].querySelector("[data-action=down]").focus();
    } else if (action === "remove") {
      for (let i = index; i < all.length - 1; i += 1) selectOf(all[i]).value = selectOf(all[i + 1]).value;
      selectOf(all[all.length - 1]).value = "";
    }
  });
  renumber();
}

// Legal references: one more empty row on demand (numbered like the ones the server wrote).
const refs = form?.querySelector("[data-refs]");
if (refs) {
  const MAX_REFS = 20;
  const add = Object.assign(document.createElement("button"), {
    type: "button", className: "secondary add-row", textContent: "Thêm căn cứ pháp lý",
  });
  refs.after(add);
  add.addEventListener("click", () => {
    const all = refs.querySelectorAll("[data-ref]");
    if (all.length >= MAX_REFS) return;
    const n = all.length + 1;
    const copy = all[all.length - 1].cloneNode(true);
    copy.querySelector("legend").textContent = `Căn cứ ${n}`;
    copy.querySelectorAll("input").forEach((input) => {
      const base = input.name.replace(/_\d+$/, "");
      input.name = `${base}_${n}`;
      input.id = input.id.replace(/-\d+$/, `-${n}`);
      input.value = "";
    });
    copy.querySelectorAll("label").forEach((label) => { label.htmlFor = label.htmlFor.replace(/-\d+$/, `-${n}`); });
    refs.append(copy);
    copy.querySelector("input").focus();
    add.hidden = n >= MAX_REFS;
  });
}
