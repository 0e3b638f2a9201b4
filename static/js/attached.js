// The files a message of the user's carries, under its text: images as thumbnails, sized before
// they load so nothing jumps, that open full size over the page (Escape closes; a middle click
// opens a tab); documents and text files as chips linking to their download.

import { button, element, icon } from "./dom.js";
import { fileDetails, fileIcon } from "./file-label.js";
import { urlFor } from "./urls.js";

const CLOSE = "M6 6l12 12M18 6L6 18";

let address = "/attachments/{id}/"; // the page data's urls.attachment

/** Where the page finds a file, from the page data (`urls.attachment`, "{id}" in it). */
export function setAttachmentAddress(template) {
  if (template) address = template;
}

/** The address of the file `id`. */
export function attachmentAddress(id) {
  return urlFor(address, id);
}

/**
 * The images of `attachments` first, then the documents: the order they are shown in, so a
 * narrow screen shows the pictures without scrolling.
 */
export function imagesFirst(attachments) {
  const images = attachments.filter((file) => file.kind === "image");
  return [...images, ...attachments.filter((file) => file.kind !== "image")];
}

/** The files `attachments` ({id, name, kind, size, width, height, pages}) as one element. */
export function attachedFiles(attachments) {
  const box = element("div", "message-files");
  for (const file of imagesFirst(attachments)) {
    box.append(file.kind === "image" ? imageThumbnail(file) : documentChip(file));
  }
  return box;
}

function imageThumbnail(file) {
  const address = attachmentAddress(file.id);
  const link = element("a", "file-thumbnail");
  link.href = address;
  link.target = "_blank";
  link.rel = "noopener";
  link.title = `${file.name}: open full size`;
  const image = element("img");
  image.alt = file.name;
  image.loading = "lazy";
  image.decoding = "async";
  // Its real size: the style shows it smaller, in proportion, before it has loaded.
  if (file.width && file.height) {
    image.width = file.width;
    image.height = file.height;
  }
  image.src = address;
  link.append(image);
  link.addEventListener("click", (event) => {
    const newTab = event.ctrlKey || event.metaKey || event.shiftKey || event.altKey;
    if (event.button !== 0 || newTab) return;
    event.preventDefault();
    lightbox().open(file, address);
  });
  return link;
}

function documentChip(file) {
  const link = element("a", "file-chip");
  link.href = attachmentAddress(file.id);
  link.download = file.name;
  const name = element("span", "file-name", file.name);
  name.title = file.name;
  const label = element("span", "file-label");
  label.append(name, element("span", "file-details", fileDetails(file)));
  link.append(fileIcon(file.kind), label);
  return link;
}

let shared = null;

/** The one dialog images open full size in, made the first time one is opened. */
function lightbox() {
  if (shared) return shared;
  const dialog = element("dialog", "lightbox");
  const image = element("img", "lightbox-image");
  const caption = element("p", "lightbox-caption");
  const name = element("span", "lightbox-name");
  const tab = element("a", "lightbox-tab", "Open in a new tab");
  tab.target = "_blank";
  tab.rel = "noopener";
  const close = button(undefined, "icon-button lightbox-close", () => dialog.close(), "Close");
  close.append(icon(CLOSE));
  caption.append(name, tab);
  dialog.append(close, image, caption);
  // A click on the dark backdrop (the dialog itself, around the picture) closes it too.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  document.body.append(dialog);
  shared = {
    open(file, url) {
      image.src = url;
      image.alt = file.name;
      if (file.width && file.height) {
        image.width = file.width;
        image.height = file.height;
      } else {
        image.removeAttribute("width");
        image.removeAttribute("height");
      }
      name.textContent = file.name;
      tab.href = url;
      dialog.setAttribute("aria-label", file.name);
      dialog.showModal();
      close.focus();
    },
  };
  return shared;
}
