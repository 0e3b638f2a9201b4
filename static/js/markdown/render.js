// Markdown text to safe, wired DOM: the single path every piece of rendered output takes.
import { wireCopyButtons, highlightCode } from "./code.js";
import { drawDiagrams } from "./diagrams.js";
import { wireImageButtons } from "./images.js";
import { md } from "./parser.js";
import { sanitizeToFragment } from "./sanitize.js";

/** Renders markdown to a sanitized fragment with working buttons, without highlighting. */
export function renderFragment(text, env = {}) {
  const fragment = sanitizeToFragment(md.render(text, env));
  wireCopyButtons(fragment);
  wireImageButtons(fragment);
  return fragment;
}

/**
 * One-shot render (a stored message): a sanitized fragment with code highlighted. `env.breaks`
 * keeps single line breaks (the user's own messages).
 */
export function renderMarkdown(text, env = {}) {
  const fragment = renderFragment(normalizeNewlines(text), env);
  for (const code of fragment.querySelectorAll("pre > code")) highlightCode(code);
  drawDiagrams(fragment);
  return fragment;
}

/** markdown-it's own input normalization, done up front so offsets agree with it. */
export function normalizeNewlines(text) {
  return text.replace(/\r\n?/g, "\n").replace(/\0/g, "\uFFFD");
}
