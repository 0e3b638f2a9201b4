// Inline styles without style attributes. The page's policy (style-src 'self') refuses style
// attributes and <style> elements, and KaTeX and Mermaid write both. Their declarations become
// classes in one constructed stylesheet (CSSOM, which the policy does not govern), shared by the
// document and every shadow root that shows a diagram. Only plain values of known properties
// pass: no url(), no escapes, no quotes that could end a rule, so nothing can be fetched.
const sheet = new CSSStyleSheet();
const known = new Map(); // rule text -> class name
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];

const PROPERTIES = new Set([
  "height", "width", "min-width", "max-width", "min-height", "max-height", "top", "bottom",
  "left", "right", "vertical-align", "position", "display", "margin", "margin-left",
  "margin-right", "margin-top", "margin-bottom", "padding", "padding-left", "padding-right",
  "padding-top", "padding-bottom", "border-width", "border-style", "border-color",
  "border-top-width", "border-bottom-width", "border-left-width", "border-right-width",
  "border-bottom-style", "border-top-style", "color", "background-color", "background",
  "font-size", "font-weight", "font-style", "font-family", "line-height", "text-align",
  "fill", "stroke", "stroke-width", "stroke-dasharray", "opacity", "fill-opacity",
  "stroke-opacity", "text-anchor", "dominant-baseline", "alignment-baseline", "transform",
  "white-space",
]);
const COLOR_FUNCTION = /\b(?:rgba?|hsla?)\(\s*[\d.%\s,/]+\)/gi;
const TRANSFORM_FUNCTION = /\b(?:translate|scale|rotate)\(\s*[-\d.,\s%a-z]*\)/gi;
const PLAIN_VALUE = /^[\w\s.,#%+\-"'!]*$/;

/** The declarations of `style` that are safe to keep, as one normalized string. */
export function safeDeclarations(style) {
  const kept = [];
  for (const declaration of String(style).split(";")) {
    const colon = declaration.indexOf(":");
    if (colon === -1) continue;
    const property = declaration.slice(0, colon).trim().toLowerCase();
    let value = declaration.slice(colon + 1).trim();
    if (!PROPERTIES.has(property) || !value) continue;
    const stripped = value.replace(COLOR_FUNCTION, "c").replace(TRANSFORM_FUNCTION, "t");
    if (!PLAIN_VALUE.test(stripped)) continue;
    // Quotes only name fonts, and only in pairs: an open string would swallow the rule's end.
    const quotes = stripped.replace(/[^"']/g, "");
    if (quotes && (property !== "font-family" || !/^(?:""|'')*$/.test(quotes))) continue;
    if (!/!important\s*$/i.test(value)) value += " !important";
    kept.push(`${property}:${value}`);
  }
  return kept.join(";");
}

function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** A class carrying `body` (declarations made by this module's callers, already safe). */
export function classFor(prefix, body) {
  let name = known.get(body);
  if (name === undefined) {
    name = `${prefix}-${hash(body)}`;
    known.set(body, name);
    try {
      sheet.insertRule(`.${name}{${body}}`, sheet.cssRules.length);
    } catch {
      // A declaration the browser cannot parse: the class stays, without a rule.
    }
  }
  return name;
}

/**
 * Moves the style attributes of `root` and everything in it into classes (dropping what
 * safeDeclarations() refuses).
 */
export function styleAttributesToClasses(root) {
  const nodes = root.querySelectorAll("[style]");
  for (const node of nodes) {
    const body = safeDeclarations(node.getAttribute("style"));
    node.removeAttribute("style");
    if (body) node.classList.add(classFor("ms", body));
  }
}

/** Adopts the shared sheet (and `extra` sheets) into a shadow root. */
export function adoptInto(shadowRoot, extra = []) {
  shadowRoot.adoptedStyleSheets = [sheet, ...extra];
}
