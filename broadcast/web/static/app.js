// LoaXa pages: the little the browser must do itself. Works without it; htmx refreshes the panels.

// The menu is a "Danh mục" button on phones and an open bar on wide screens.
const menu = document.querySelector("[data-menu]");
const wide = window.matchMedia("(min-width: 64rem)");
const syncMenu = () => { if (menu) menu.open = wide.matches; };
wide.addEventListener("change", syncMenu);
syncMenu();

// Rural links drop: say so when a refresh fails, and hide the notice when one succeeds again.
const offline = document.querySelector("[data-offline]");
const showOffline = (on) => { if (offline) offline.hidden = !on; };
document.body.addEventListener("htmx:sendError", () => showOffline(true));
document.body.addEventListener("htmx:responseError", () => showOffline(true));
document.body.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.successful) showOffline(false);
});

// Back online, or the tab shown again (a phone waking up): refresh the live panels at once, not a minute later.
const refreshNow = () => document.querySelectorAll("[data-live]").forEach((el) => window.htmx?.trigger(el, "refresh-now"));
window.addEventListener("online", refreshNow);
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refreshNow(); });
