// reelkit web pages: the play buttons, typing a member id, fresh pages after "back", and the home page
// once a model is served.
"use strict";

// a page restored from the back/forward cache would show stale rows: reload it
window.addEventListener("pageshow", (event) => { if (event.persisted) { window.location.reload(); } });

async function play(button) {
  const status = document.getElementById("play-status");
  const fraction = parseFloat(button.dataset.fraction || "0.35");
  button.disabled = true;
  try {
    const response = await fetch("/ui/play", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Reelkit-UI": "1" },
      body: JSON.stringify({ title_id: button.dataset.titleId, fraction: fraction }),
      credentials: "same-origin",
    });
    const body = await response.json();
    if (!response.ok) { throw new Error(body.message || response.statusText); }
    const pct = Math.round(body.fraction * 100);
    // Continue Watching leaves out what the member turned down or rated low: the server says if it is there
    status.textContent = pct >= 90
      ? "Watched to the end. Your home page now takes it into account."
      : body.continue_watching
        ? `Playing… stopped at ${pct}%. It is now in Continue Watching on your home page.`
        : `Playing… stopped at ${pct}%. Your home page does not offer it in Continue Watching.`;
    status.dataset.state = "recorded";
    const note = document.getElementById("progress-note");
    if (note) { note.textContent = `You have watched ${pct}%.`; }
  } catch (err) {
    status.textContent = "Could not record the play: " + err.message;
    status.dataset.state = "error";
  } finally {
    button.disabled = false;
    // a disabled button loses the focus to the page: give it back, so a keyboard or screen-reader user
    // keeps their place (unless they moved on meanwhile)
    if (document.activeElement === document.body || document.activeElement === null) { button.focus(); }
  }
}

// No model yet: ask /ready every 15 s and reload once one is served, but never while a field is in use (a
// timed refresh of the whole page erased a member id being typed, WCAG 2.2.1): then offer a link instead.
function reloadWhenReady(notice) {
  const timer = setInterval(async () => {
    try {
      const response = await fetch(notice.dataset.readyUrl, { cache: "no-store" });
      if (!response.ok) { return; }
    } catch (err) {
      return;  // the server is restarting: ask again later
    }
    clearInterval(timer);
    const active = document.activeElement;
    const inUse = (active && active.matches("input, select, textarea"))
      || [...document.querySelectorAll("input[type=text]")].some((field) => field.value !== "");
    if (!inUse) { window.location.reload(); return; }
    const link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "reload the page";
    notice.replaceChildren("A model is now served: ", link, " to see the home pages.");
  }, 15000);
}

document.addEventListener("DOMContentLoaded", () => {
  const notice = document.getElementById("no-model");
  if (notice) { reloadWhenReady(notice); }
  for (const id of ["play", "finish"]) {
    const b = document.getElementById(id);
    if (b) { b.addEventListener("click", () => play(b)); }
  }
  const typeId = document.getElementById("type-id");
  if (typeId) {
    // switches between the two pickers: after an unknown typed id the list was left off for good
    typeId.addEventListener("click", () => {
      const select = document.getElementById("member-select");
      const input = document.getElementById("member-id");
      const typing = !input.disabled;
      select.disabled = !typing;
      input.disabled = typing;
      typeId.textContent = typing ? "Type an id" : "Choose from the list";
      (typing ? select : input).focus();
    });
  }
});
