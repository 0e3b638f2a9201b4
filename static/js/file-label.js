// How a file sent with a message is told on screen wherever it shows (the composer, the edit
// box, the transcript): its kind, its size in words, and the icon standing in for a document.

import { icon } from "./dom.js";

const DOCUMENT = "M7 3h7l5 5v13H7zM14 3v5h5M10 13h6M10 17h6";
const IMAGE = "M4 5h16v14H4zM4 16l5-5 4 4 2-2 5 5M15.5 9.5h.01";

/**
 * The kind a file will be once uploaded ("image", "pdf" or "text"), from what the browser says
 * of it: the server decides for real, this only picks the chip's look and the vision check.
 */
export function localKind(file) {
  if (file.type.startsWith("image/")) return "image";
  if (file.type === "application/pdf" || /\.pdf$/i.test(file.name)) return "pdf";
  return "text";
}

/** "512 B", "14 KB", "1.2 MB": binary units, as the upload limit is set (20 MB). */
export function fileSize(bytes) {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/** "1.2 MB · 12 pages" for a PDF, the size alone for the rest. */
export function fileDetails({ size, pages }) {
  const parts = [fileSize(size)];
  if (pages) parts.push(pages === 1 ? "1 page" : `${pages} pages`);
  return parts.join(" · ");
}

/** The icon of a file of `kind` shown without a thumbnail. */
export function fileIcon(kind) {
  return icon(kind === "image" ? IMAGE : DOCUMENT);
}
