// The schedule form: show only the recurrence fields that apply, and ask for a fresh check (sentence, reach,
// quiet hours, overlaps) when the commune's target picker has been swapped in. Without it every field shows and
// the server checks everything on submit.

const form = document.querySelector("[data-schedule-form]");

function checked(name) {
  return form.querySelector(`input[name="${name}"]:checked`)?.value ?? "";
}

function sync() {
  const repeat = checked("repeat");
  form.querySelectorAll("[data-when]").forEach((el) => {
    el.hidden = !el.dataset.when.split(" ").includes(repeat);
  });
  const end = checked("end");
  form.querySelectorAll("[data-end]").forEach((el) => { el.hidden = el.dataset.end !== end; });
  form.querySelectorAll("[data-unit]").forEach((el) => { el.textContent = repeat === "weekly" ? "tuần" : "ngày"; });
}

if (form) {
  form.addEventListener("change", (event) => {
    if (event.target.name === "repeat" || event.target.name === "end") sync();
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.matches("[data-targets]")) window.htmx?.trigger(form, "refresh-preview");
  });
  sync();
}
