// Math: $…$ and \(…\) inline, $$…$$ and \[…\] for display, rendered by KaTeX. The rules run
// before markdown's own escapes, so the TeX keeps its backslashes; the source with its
// delimiters stays on the element (data-tex), and copying a selection gives it back.
//
// Dollars that are prices stay text: the opening $ is not followed by a space, and the first
// $ after it closes only with no space before it and no digit after it ("$5 and $10" is text).
// A display block ($$ on a line of its own) is drawn once its closing line has come; until then
// (and if it never comes) it shows as its source. KaTeX runs with trust off (no \href, \url,
// \htmlClass, \includegraphics…), size and macro-expansion limits, and never throws.
import katex from "../../vendor/katex/katex.js";
import { classFor, safeDeclarations } from "./styles.js";

const OPTIONS = {
  throwOnError: false,
  trust: false,
  strict: "ignore",
  output: "html",
  maxSize: 20, // em: \rule{1000em}{…}, \hspace, \kern are clipped to this
  maxExpand: 500, // macro expansions: \def\a{\a\a} stops here
  errorColor: "#cc0000",
};

// Rendering is cached: the open tail of a stream is rendered again on every frame, with the
// same formulas in it.
const CACHE_LIMIT = 500;
const cache = new Map();

const escapeAttribute = (text) =>
  text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const ASPECT = {
  "xMinYMin slice": "left top / cover",
  "xMidYMin slice": "center top / cover",
  "xMaxYMin slice": "right top / cover",
  none: "0 0 / 100% 100%",
};

// KaTeX draws radicals, stretchy arrows and braces as <svg>; each becomes a mask over the text
// colour, so what is inserted is spans only.
function svgToMask(svg) {
  const drawing = svg
    .replace(/^<svg/, '<svg fill="#000"')
    .replace(/<path/g, '<path stroke="none"')
    .replace(/<line/g, '<line stroke="#000"');
  const url = `url("data:image/svg+xml,${encodeURIComponent(drawing)}")`;
  const aspect = /preserveAspectRatio="([^"]*)"/.exec(svg);
  const place = ASPECT[aspect ? aspect[1] : "none"] || ASPECT.none;
  const mask = `${url} ${place} no-repeat`;
  return `<span class="mk-svg ${classFor("mk", `mask:${mask};-webkit-mask:${mask}`)}"></span>`;
}

// KaTeX writes class before style in every tag; the style becomes one more class. (Parsing the
// markup first would apply the style attributes, which the policy refuses and reports.)
function styleToClass(match, tag, attributes) {
  const style = / style="([^"]*)"/.exec(attributes);
  if (!style) return match;
  let rest = attributes.replace(style[0], "");
  const body = safeDeclarations(style[1]);
  if (body) {
    const name = classFor("ms", body);
    if (/ class="/.test(rest)) rest = rest.replace(/ class="([^"]*)"/, ` class="$1 ${name}"`);
    else rest = ` class="${name}"${rest}`;
  }
  return `<${tag}${rest}>`;
}

// Past this a formula is shown as its source: KaTeX is linear in it, but not a model's essay.
const MAX_TEX_CHARS = 5000;

function katexOrSource(tex, displayMode) {
  if (tex.length <= MAX_TEX_CHARS) {
    try {
      return katex.renderToString(tex, { ...OPTIONS, displayMode });
    } catch {
      // Not a ParseError (those render in red, throwOnError is off): deep nesting overflows
      // KaTeX's stack. The source is shown instead.
    }
  }
  return `<span class="md-math-source">${escapeAttribute(tex)}</span>`;
}

/** KaTeX's HTML for `tex`, with its styles as classes and its drawings as masks. */
function katexHtml(tex, displayMode) {
  const key = `${displayMode ? "D" : "I"}${tex}`;
  let html = cache.get(key);
  if (html !== undefined) return html;
  html = katexOrSource(tex, displayMode)
    .replace(/<svg[^>]*>[\s\S]*?<\/svg>/g, svgToMask)
    .replace(/<([a-zA-Z]+)((?:\s[^>]*)?)>/g, styleToClass);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value);
  cache.set(key, html);
  return html;
}

function isSpace(char) {
  return char === undefined || char === " " || char === "\t" || char === "\n";
}

function isDigit(char) {
  return char !== undefined && char >= "0" && char <= "9";
}

/** Index of the first `needle` at or after `from` that a backslash does not escape. */
function findUnescaped(src, needle, from, max) {
  for (let at = src.indexOf(needle, from); at !== -1 && at < max; at = src.indexOf(needle, at + 1)) {
    let slashes = 0;
    while (src[at - 1 - slashes] === "\\") slashes += 1;
    if (slashes % 2 === 0) return at;
  }
  return -1;
}

function pushMath(state, silent, tex, display, markup, end) {
  if (!tex.trim()) return false;
  if (!silent) {
    const token = state.push("math_inline", "", 0);
    token.content = tex;
    token.markup = markup;
    token.meta = { display, source: state.src.slice(state.pos, end) };
  }
  state.pos = end;
  return true;
}

function mathInline(state, silent) {
  const src = state.src;
  const pos = state.pos;
  const max = state.posMax;
  const char = src[pos];
  if (char === "\\") {
    const kind = src[pos + 1];
    if (kind !== "(" && kind !== "[") return false;
    // Once a search found no closer, none after it will: a line of "\(" stays linear.
    const unclosed = (state.mathUnclosed ??= {});
    const closer = kind === "(" ? "\\)" : "\\]";
    if (unclosed[closer] !== undefined && pos >= unclosed[closer]) return false;
    const close = src.indexOf(closer, pos + 2);
    if (close === -1) unclosed[closer] = pos;
    if (close === -1 || close + 2 > max) return false;
    return pushMath(state, silent, src.slice(pos + 2, close), kind === "[", `\\${kind}`, close + 2);
  }
  if (char !== "$") return false;
  if (src[pos + 1] === "$") {
    const close = findUnescaped(src, "$$", pos + 2, max);
    if (close === -1) return false;
    return pushMath(state, silent, src.slice(pos + 2, close), true, "$$", close + 2);
  }
  if (isSpace(src[pos + 1])) return false;
  const close = findUnescaped(src, "$", pos + 1, max);
  if (close === -1 || isSpace(src[close - 1]) || isDigit(src[close + 1])) return false;
  return pushMath(state, silent, src.slice(pos + 1, close), false, "$", close + 1);
}

const DISPLAY = [
  ["$$", "$$"],
  ["\\[", "\\]"],
];

function mathBlock(state, startLine, endLine, silent) {
  if (state.sCount[startLine] - state.blkIndent >= 4) return false;
  const start = state.bMarks[startLine] + state.tShift[startLine];
  const first = state.src.slice(start, state.eMarks[startLine]);
  const pair = DISPLAY.find(([open]) => first.startsWith(open));
  if (!pair) return false;
  const [open, close] = pair;
  const rest = first.slice(open.length).trimEnd();
  let closed = false;
  let line = startLine + 1;
  const lines = [];
  if (rest.length >= close.length && rest.endsWith(close)) {
    const body = rest.slice(0, -close.length);
    // "$$a$$ and $$b$$" is two inline formulas, not a block.
    if (body.includes(close)) return false;
    lines.push(body);
    closed = true;
  } else {
    if (rest.includes(close)) return false;
    lines.push(rest);
    // Like a code fence, an open block runs on (to a blank line, or while it is streaming, to
    // the end): what follows its opening line never decides, later, what came before it.
    for (; line < endLine; line += 1) {
      const lineStart = state.bMarks[line] + state.tShift[line];
      const lineEnd = state.eMarks[line];
      if (lineStart >= lineEnd || state.sCount[line] < state.blkIndent) break;
      const text = state.src.slice(lineStart, lineEnd).trimEnd();
      if (text.endsWith(close)) {
        lines.push(text.slice(0, -close.length));
        closed = true;
        line += 1;
        break;
      }
      lines.push(text);
    }
  }
  if (silent) return true;
  const token = state.push("math_block", "div", 0);
  token.block = true;
  token.content = lines.join("\n");
  token.markup = open;
  token.map = [startLine, line];
  token.meta = { closed, source: state.getLines(startLine, line, state.sCount[startLine], false) };
  state.line = line;
  return true;
}

function renderInline(tokens, idx) {
  const { display, source } = tokens[idx].meta;
  const kind = display ? "md-math md-math-display" : "md-math";
  const tex = escapeAttribute(source);
  // KaTeX hides its glyphs from screen readers (aria-hidden); they read the TeX instead.
  return (
    `<span class="${kind}" data-tex="${tex}" role="img" aria-label="${tex}">` +
    `${katexHtml(tokens[idx].content, display)}</span>`
  );
}

function renderBlock(tokens, idx) {
  const { closed, source } = tokens[idx].meta;
  const tex = escapeAttribute(source.replace(/\n$/, ""));
  if (!closed || !tokens[idx].content.trim()) {
    return `<p class="md-math-source">${tex}</p>\n`;
  }
  return (
    `<div class="md-math md-math-block" data-tex="${tex}" role="img" aria-label="${tex}">` +
    `${katexHtml(tokens[idx].content, true)}</div>\n`
  );
}

/** Adds the math rules to a markdown-it instance. */
export function mathPlugin(md) {
  md.inline.ruler.before("escape", "math_inline", mathInline);
  md.block.ruler.before("fence", "math_block", mathBlock, {
    alt: ["paragraph", "reference", "blockquote", "list"],
  });
  md.renderer.rules.math_inline = renderInline;
  md.renderer.rules.math_block = renderBlock;
}

// Copying a selection that holds formulas gives their TeX, not KaTeX's glyphs; a selection that
// starts or ends inside a formula takes the whole formula.
function onCopy(event) {
  const selection = document.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return;
  const range = selection.getRangeAt(0).cloneRange();
  const startMath = closestMath(range.startContainer);
  const endMath = closestMath(range.endContainer);
  if (startMath) range.setStartBefore(startMath);
  if (endMath) range.setEndAfter(endMath);
  const fragment = range.cloneContents();
  const formulas = fragment.querySelectorAll(".md-math[data-tex]");
  if (!startMath && !endMath && formulas.length === 0) return;
  for (const node of formulas) node.replaceWith(node.getAttribute("data-tex"));
  const holder = document.createElement("div");
  holder.className = "md-offscreen markdown";
  holder.append(fragment);
  document.body.append(holder);
  const text = holder.innerText;
  const html = holder.innerHTML;
  holder.remove();
  event.clipboardData.setData("text/plain", text);
  event.clipboardData.setData("text/html", html);
  event.preventDefault();
}

function closestMath(node) {
  const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  return element?.closest(".md-math[data-tex]") ?? null;
}

document.addEventListener("copy", onCopy);
