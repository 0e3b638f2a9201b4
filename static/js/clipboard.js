// Copying text, also where the Clipboard API is missing: a self-hosted instance is often reached
// over plain http on a LAN, which is not a secure context.

import { element } from "./dom.js";

export async function copyText(text) {
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
