// The review console's one script: keyboard shortcuts, saved replies filled into the reply
// box, and new decisions shown without a reload. Every page works without it (each button is
// a plain form); the server's HTML is the only markup inserted, and it is escaped there.
"use strict";
(function () {
  const cards = () => Array.from(document.querySelectorAll("article.decision"));
  let current = -1;

  function focusCard(i) {
    const all = cards();
    if (all.length === 0) return;
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((c, j) => c.classList.toggle("current", j === current));
    all[current].scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    const all = cards();
    if (current < 0 && all.length > 0) focusCard(0);
    return cards()[current];
  }

  function press(selector) {
    const card = currentCard();
    const button = card && card.querySelector(selector);
    if (button) button.click();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    switch (e.key) {
      case "j": focusCard(current + 1); break;
      case "k": focusCard(current - 1); break;
      case "h": case "s": press("button.settle-spam"); break;
      case "n": case "e": press("button.settle-not_spam"); break;
      case "r": {
        const card = currentCard();
        const box = card && card.querySelector("input.reply-text");
        if (box) { box.focus(); e.preventDefault(); }
        break;
      }
      case "x": {
        const card = currentCard();
        const box = card && card.querySelector("input.select");
        if (box) box.checked = !box.checked;
        break;
      }
      case "?": {
        const help = document.getElementById("keys");
        if (help) help.hidden = !help.hidden;
        break;
      }
      default: return;
    }
  });

  // A saved reply picked in a card's list fills that card's reply box, to send or edit.
  document.addEventListener("change", function (e) {
    const t = e.target;
    if (!t.classList || !t.classList.contains("saved-reply")) return;
    const option = t.options[t.selectedIndex];
    const box = t.form && t.form.querySelector("input.reply-text");
    if (box && option && option.dataset.text) box.value = option.dataset.text;
  });

  // New decisions: asked for every few seconds and put at the top, marked as new.
  function follow() {
    const list = document.getElementById("decisions");
    if (!list || !list.dataset.live) return;
    setInterval(async function () {
      try {
        const r = await fetch(list.dataset.live + "&after=" + encodeURIComponent(list.dataset.newest || "0"), { credentials: "same-origin" });
        if (!r.ok) return;
        // The newest id read moves on even when none of those decisions is shown here, so the
        // next ask starts after them.
        const newest = r.headers.get("x-newest");
        if (newest) list.dataset.newest = newest;
        const html = await r.text();
        if (html.trim() === "") return;
        list.insertAdjacentHTML("afterbegin", html);
        const note = document.getElementById("live-note");
        if (note) {
          const n = list.querySelectorAll("article.fresh").length;
          note.textContent = n + (n === 1 ? " new decision" : " new decisions") + " added above without a reload.";
          note.hidden = false;
        }
        if (current >= 0) focusCard(current + (html.match(/<article /g) || []).length);
      } catch (_) { /* the next tick tries again */ }
    }, 3000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", follow);
  } else {
    follow();
  }
})();
