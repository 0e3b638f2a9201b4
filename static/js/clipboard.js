// Copying text, also where the Clipboard API is missing: a self-hosted instance is often reached
// over plain http on a LAN, which is not a secure context. A copy button says how it went.

import { element } from "./dom.js";

const FEEDBACK_MS = 1500;
const feedback = new WeakMap(); // button -> {label, timer} while it says how a copy went

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Denied, or the document is not focused: the older route below still works.
    }
  }
  const area = element("textarea", "md-offscreen");
  area.value = text;
  area.setAttribute("readonly", "");
  document.body.append(area);
  area.select();
  try {
    return document.execCommand("copy");
  } finally {
    area.remove();
  }
}

/** Copies `text`, and says "Copied" (or "Copy failed") on `button` for a moment. */
export async function copyWithFeedback(button, text) {
  const copied = await copyText(text);
  const shown = feedback.get(button);
  clearTimeout(shown?.timer);
  const label = shown ? shown.label : button.textContent;
  button.textContent = copied ? "Copied" : "Copy failed";
  const timer = setTimeout(() => {
    button.textContent = label;
    feedback.delete(button);
  }, FEEDBACK_MS);
  feedback.set(button, { label, timer });
}
