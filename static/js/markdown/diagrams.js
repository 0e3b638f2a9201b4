// Mermaid diagrams. A ```mermaid block is rendered as code like any other (parser.js marks it
// md-diagram); once the block is finished (frozen, or a one-shot render) it is drawn, once.
//
// Mermaid draws into a live document to measure its text, writing <style> elements and style
// attributes as it goes, which the page's policy (style-src 'self') refuses. So it runs in a
// frame of its own (diagram-frame.html): sandboxed to an opaque origin, with a policy that
// allows inline styles and loads nothing but its own scripts. The big Mermaid bundle loads only
// when the first diagram appears, with that frame. What comes back is text: it is sanitized
// here (DOMPurify's SVG profile, no links, no <foreignObject>), its styles become classes and a
// constructed stylesheet (styles.js), and it is shown in a shadow root on the block, so its CSS
// reaches nothing else and the block's own markup, the code, stays what a one-shot render of
// the text gives. A diagram Mermaid cannot draw shows the code and a short error.
import DOMPurify from "../../vendor/purify.js";
import { adoptInto, safeDeclarations, classFor } from "./styles.js";

const FRAME_URL = new URL("./diagram-frame.html", import.meta.url).href;
const dark = window.matchMedia("(prefers-color-scheme: dark)");

const purify = DOMPurify(window);
purify.addHook("afterSanitizeAttributes", (node) => {
  for (const name of ["href", "xlink:href"]) {
    const value = node.getAttribute(name);
    if (value !== null && !value.startsWith("#")) node.removeAttribute(name);
  }
});
const SVG_CONFIG = {
  USE_PROFILES: { svg: true, svgFilters: true },
  FORBID_TAGS: ["style", "foreignObject", "a", "script", "use", "image", "animate", "set"],
  FORBID_ATTR: ["style"],
  RETURN_DOM_FRAGMENT: true,
};

const HOST_CSS = `
:host { display: block; }
.diagram { overflow-x: auto; padding: 0.75em; }
.diagram svg { display: block; margin: 0 auto; height: auto; }
.note { margin: 0; padding: 0.4em 0.8em; font-size: 0.85em; color: var(--md-muted); }
details { font-size: 0.85em; color: var(--md-muted); border-top: 1px solid var(--md-border); }
summary { padding: 0.3em 0.8em; cursor: pointer; background: var(--md-bar-bg); }
details[open] summary { border-bottom: 1px solid var(--md-border); }
`;
const hostSheet = new CSSStyleSheet();
hostSheet.replaceSync(HOST_CSS);

const drawnIn = new WeakMap(); // host -> the theme ("dark" or "light") its drawing is in
let frame = null;
let ready = null;
let nextId = 0;
const waiting = new Map(); // request id -> resolve

function onMessage(event) {
  if (!frame || event.source !== frame.contentWindow) return;
  const data = event.data || {};
  if (data.ready) {
    ready.resolve();
    return;
  }
  const resolve = waiting.get(data.id);
  if (!resolve) return;
  waiting.delete(data.id);
  resolve(data);
}

function openFrame() {
  if (ready) return ready.promise;
  let resolve;
  ready = { promise: new Promise((r) => (resolve = r)) };
  ready.resolve = resolve;
  window.addEventListener("message", onMessage);
  frame = document.createElement("iframe");
  frame.className = "md-diagram-frame";
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("aria-hidden", "true");
  frame.tabIndex = -1;
  frame.src = FRAME_URL;
  document.body.append(frame);
  return ready.promise;
}

async function drawInFrame(text) {
  await openFrame();
  nextId += 1;
  const id = nextId;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    frame.contentWindow.postMessage({ id, text, dark: themeNow() === "dark" }, "*");
  });
}

// Mermaid's own CSS, minus anything that could fetch (url(), image-set(), @import, fonts) or
// escape the rules around it.
function safeCss(css) {
  return css
    .replace(/\\/g, "")
    .replace(/@import[^;]*;?/gi, "")
    .replace(/@font-face\s*\{[^}]*\}/gi, "")
    .replace(/[^;{}]*\b(?:url|image-set|image|cross-fade|element|expression|src)\s*\([^;{}]*/gi, "");
}

function styleToClass(match, tag, attributes) {
  const style = /\sstyle="([^"]*)"/.exec(attributes);
  if (!style) return match;
  let rest = attributes.replace(style[0], "");
  const body = safeDeclarations(style[1].replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
  if (body) {
    const name = classFor("ms", body);
    if (/\sclass="/.test(rest)) rest = rest.replace(/\sclass="([^"]*)"/, ` class="$1 ${name}"`);
    else rest = ` class="${name}"${rest}`;
  }
  return `<${tag}${rest}>`;
}

/** The sanitized drawing and its stylesheet, from the SVG text Mermaid made. */
export function sanitizeDiagram(svgText) {
  const css = [];
  const markup = String(svgText)
    .replace(/<style[^>]*>([\s\S]*?)<\/style>/gi, (match, rules) => {
      css.push(rules);
      return "";
    })
    .replace(/<([a-zA-Z][\w:-]*)((?:\s[^>]*)?)>/g, styleToClass);
  const fragment = purify.sanitize(markup, SVG_CONFIG);
  const svg = fragment.querySelector("svg");
  if (!svg) return null;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(safeCss(css.join("\n")));
  return { svg, sheet };
}

function slotted(summary) {
  const details = document.createElement("details");
  const label = document.createElement("summary");
  label.textContent = summary;
  details.append(label, document.createElement("slot"));
  return details;
}

// A theme forced on the account page (data-theme on <html>) wins over the system's.
const themeNow = () => document.documentElement.dataset.theme || (dark.matches ? "dark" : "light");

async function draw(host) {
  const code = host.querySelector("pre > code");
  if (!code) return;
  const shadow = host.shadowRoot ?? host.attachShadow({ mode: "open" });
  // The code shows until the drawing comes.
  if (!shadow.childNodes.length) shadow.append(document.createElement("slot"));
  const theme = themeNow();
  drawnIn.set(host, theme);
  const result = await drawInFrame(code.textContent);
  // A one-shot render is drawn for while it is still a fragment of the sanitizer's document;
  // stylesheets can be adopted only once it is in the page.
  if (host.ownerDocument !== document) return;
  const drawing = result.svg ? sanitizeDiagram(result.svg) : null;
  if (!drawing) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = `Diagram not drawn: ${result.error || "Mermaid gave no drawing"}`;
    adoptInto(shadow, [hostSheet]);
    shadow.replaceChildren(note, document.createElement("slot"));
    return;
  }
  adoptInto(shadow, [hostSheet, drawing.sheet]);
  const figure = document.createElement("div");
  figure.className = "diagram";
  figure.setAttribute("role", "img");
  figure.setAttribute("aria-label", "Diagram (its Mermaid source is below)");
  figure.append(drawing.svg);
  shadow.replaceChildren(figure, slotted("Mermaid source"));
}

/** Draws the diagram blocks in `root` (or `root` itself, if it is one); each only once. */
export function drawDiagrams(root) {
  if (root.nodeType !== Node.ELEMENT_NODE && root.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
  const hosts = root.matches?.(".md-diagram") ? [root] : root.querySelectorAll(".md-diagram");
  for (const host of hosts) {
    if (host.shadowRoot) continue;
    draw(host).catch((error) => console.error(error));
  }
}

// Light and dark: drawn diagrams are drawn again in the other theme. (The host's own markup is
// never touched: it is what a one-shot render gives.)
dark.addEventListener("change", () => {
  for (const host of document.querySelectorAll(".md-diagram")) {
    const theme = drawnIn.get(host);
    if (theme !== undefined && theme !== themeNow()) draw(host).catch(console.error);
  }
});
