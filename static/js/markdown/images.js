// Click-to-load images. The renderer turns every markdown image into a button (see parser.js:
// an image URL fetched without the reader's consent can carry the conversation away); this
// fetches the picture only when that button is pressed.
import { element } from "../dom.js";
import { isAllowedImage } from "./parser.js";

function showAsLink(placeholder, url, alt) {
  const link = element("a", "md-image-link", `${alt || "image"} (open in a new tab)`);
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  placeholder.replaceWith(link);
}

function onImageClick(event) {
  // The placeholder may sit inside a link; pressing it must not follow the link.
  event.preventDefault();
  event.stopPropagation();
  const button = event.currentTarget;
  const url = button.dataset.src || "";
  const alt = button.dataset.alt || "";
  if (!isAllowedImage(url)) return;
  const image = element("img", "md-image-loaded");
  image.alt = alt;
  image.referrerPolicy = "no-referrer";
  // The page's Content-Security-Policy may refuse the host (img-src 'self'); then the reader
  // still gets a way to look at it.
  image.addEventListener("error", () => showAsLink(image, url, alt), { once: true });
  image.src = url;
  button.replaceWith(image);
}

/** Wires the click-to-load buttons of freshly rendered images. */
export function wireImageButtons(root) {
  for (const button of root.querySelectorAll("button.md-image")) {
    button.addEventListener("click", onImageClick);
  }
}
