// Small improvements over forms that work without JavaScript: "Thêm vai trò" adds a (role, area) row to an
// account form, and "Sao chép" copies the private calendar address.

function renumber(row, n) {
  for (const field of row.querySelectorAll("select")) {
    const base = field.name;  // vai_tro | khu_vuc
    field.id = `${base}_${n}`;
    field.value = "";
    const label = row.querySelector(`label[for^="${base}_"]`);
    if (label) {
      label.htmlFor = field.id;
      label.textContent = label.textContent.replace(/\d+$/, String(n));
    }
  }
}

for (const group of document.querySelectorAll("[data-grants]")) {
  const add = group.querySelector("[data-add-grant]");
  const max = Number(group.dataset.max || 20);
  if (!add) continue;
  add.hidden = false;
  add.addEventListener("click", () => {
    const rows = group.querySelectorAll("[data-grant-row]");
    if (rows.length >= max) return;
    const row = rows[rows.length - 1].cloneNode(true);
    renumber(row, rows.length + 1);
    add.before(row);
    row.querySelector("select").focus();
    add.hidden = rows.length + 1 >= max;
  });
}

for (const button of document.querySelectorAll("[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      if (status) status.textContent = "Đã sao chép.";
    } catch {
      source.select();
      if (status) status.textContent = "Không sao chép tự động được; địa chỉ đã được chọn, hãy sao chép thủ công.";
    }
  });
}
