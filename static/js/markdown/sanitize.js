// DOMPurify runs on the HTML markdown-it produced, never the other way round: the markdown step
// can itself create markup (links, code, attributes), so only sanitizing its output covers it.
// markdown-it already escapes raw HTML (html: false); this is the second wall, and it is also
// what turns every string of HTML in this renderer into DOM.
import DOMPurify from "../../vendor/purify.js";
import { isAllowedLink } from "./parser.js";

// A private instance, so these hooks never leak into another module's use of DOMPurify.
const purify = DOMPurify(window);

const CONFIG = {
  ALLOWED_TAGS: [
    "a", "blockquote", "br", "button", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
  ],
  // role and the aria-* states: KaTeX's hidden struts and the task lists' checkboxes; data-tex:
  // a formula's source, for copying.
  ALLOWED_ATTR: [
    "aria-checked", "aria-disabled", "aria-hidden", "aria-label", "class", "data-alt",
    "data-src", "data-tex", "href", "role", "start", "title", "type",
  ],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

// DOMPurify's own URI check allows relative URLs and schemes such as ftp: or tel:; links keep
// only the schemes markdown-it was told to accept, and always open away from the chat.
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName !== "A") return;
  const href = node.getAttribute("href");
  if (href !== null && !isAllowedLink(href)) node.removeAttribute("href");
  if (node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Sanitized DOM for a string of HTML; the only way HTML becomes DOM in the renderer. */
export function sanitizeToFragment(html) {
  return purify.sanitize(html, CONFIG);
}
