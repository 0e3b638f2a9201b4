// Building the page's elements: one with a class and text, a button, an icon, and a small icon
// button.
// Text goes in as textContent, never as markup.

const SVG = "http://www.w3.org/2000/svg";

/** A `tag` element with `className` (if any) and `text` (if given) as its text. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A button that submits nothing; `ariaLabel` names it when its text alone would not. */
export function button(label, className, onClick, ariaLabel) {
  const node = element("button", className, label);
  node.type = "button";
  if (ariaLabel) node.setAttribute("aria-label", ariaLabel);
  node.addEventListener("click", onClick);
  return node;
}

/** An icon drawn by one SVG path (`path`, in a 24×24 box), hidden from assistive technology. */
export function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", path);
  svg.append(line);
  return svg;
}

/** A small button showing one icon (`path`), named by `label`. */
export function iconButton(label, path, onClick) {
  const node = button(undefined, "icon-button small", onClick, label);
  node.append(icon(path));
  return node;
}
