// Code blocks: the copy button, and syntax highlighting done once per finished block, when the
// browser is idle, never on a frame of the stream.
import { copyWithFeedback } from "../clipboard.js";
import hljs from "../../vendor/highlight.js";
import { sanitizeToFragment } from "./sanitize.js";

// Highlighting is roughly linear in the code's length; past this a single block would hold the
// main thread for a long task (>= 50 ms) on a slow machine, and plain text reads fine.
const MAX_HIGHLIGHT_CHARS = 20000;

function languageOf(code) {
  const match = /(?:^|\s)language-(\S+)/.exec(code.className);
  return match ? match[1] : "";
}

/** Highlights one <code> element in place; returns whether it did. Never twice. */
export function highlightCode(code) {
  if (code.classList.contains("hljs")) return false;
  const language = languageOf(code);
  if (!language || !hljs.getLanguage(language)) return false;
  const text = code.textContent;
  if (text.length > MAX_HIGHLIGHT_CHARS) return false;
  const html = hljs.highlight(text, { language, ignoreIllegals: true }).value;
  code.replaceChildren(sanitizeToFragment(html));
  code.classList.add("hljs");
  return true;
}

const idleJobs = [];
let idleScheduled = false;

// Safari has no requestIdleCallback; a short timeout with an 8 ms budget stands in for it.
const requestIdle =
  window.requestIdleCallback?.bind(window) ??
  ((callback) =>
    setTimeout(() => {
      const started = performance.now();
      callback({ timeRemaining: () => Math.max(0, 8 - (performance.now() - started)) });
    }, 16));

function runIdleJobs(deadline) {
  idleScheduled = false;
  do {
    const job = idleJobs.shift();
    try {
      job.resolve(highlightCode(job.code));
    } catch (error) {
      // Unhighlighted code is still correct code; never leave finish() waiting.
      console.error(error);
      job.resolve(false);
    }
  } while (idleJobs.length && deadline.timeRemaining() > 4);
  scheduleIdleJobs();
}

function scheduleIdleJobs() {
  if (idleScheduled || !idleJobs.length) return;
  idleScheduled = true;
  requestIdle(runIdleJobs, { timeout: 500 });
}

/** Highlights a <code> element in an idle period; resolves to whether it was highlighted. */
export function highlightWhenIdle(code) {
  return new Promise((resolve) => {
    idleJobs.push({ code, resolve });
    scheduleIdleJobs();
  });
}

function onCopyClick(event) {
  const button = event.currentTarget;
  const code = button.closest(".md-code")?.querySelector("code");
  if (code) copyWithFeedback(button, code.textContent);
}

/** Wires the copy buttons of freshly rendered code blocks. */
export function wireCopyButtons(root) {
  for (const button of root.querySelectorAll("button.md-copy")) {
    button.addEventListener("click", onCopyClick);
  }
}
