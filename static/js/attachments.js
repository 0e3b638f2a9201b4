// The files going with a message: in the composer, those for the next one (each uploaded as
// soon as it is added, its progress on its chip); in an edit box, those an edited message
// keeps (already sent: they can only be removed). A chip each, above the text: a thumbnail or
// an icon, the name, the size or how the upload went, and a remove button.

import { attachmentAddress, imagesFirst } from "./attached.js";
import { button, element, icon } from "./dom.js";
import { fileIcon, fileSize, localKind } from "./file-label.js";
import { UploadCancelled, upload } from "./upload.js";

const REMOVE = "M6 6l12 12M18 6L6 18";
// The longest side a chip's thumbnail is drawn at: twice its size on screen, for sharp screens.
const THUMB_PIXELS = 96;

/**
 * A small picture of the image `file`, as a data: address (the page's policy lets images come
 * from the site and from data: only). Null when the browser cannot decode it as an image (a
 * file merely named .png, an SVG): the chip shows the icon, and the server has the last word.
 */
async function thumbnail(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, THUMB_PIXELS / Math.min(bitmap.width, bitmap.height));
    const canvas = element("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return canvas.toDataURL("image/png");
  } catch {
    return null;
  }
}

export class AttachmentTray {
  /**
   * list: the element the chips go in. uploadTo: {url, csrfToken}, where added files are
   * uploaded (none for an edit box). limits: {max_files, max_bytes} (attachment_limits).
   * onChange(): a file was added, uploaded, refused or removed. onProblem(text): files were
   * not taken, and why. textbox: where the focus goes once the last chip is removed.
   */
  constructor(list, { uploadTo, limits, textbox, onChange = () => {}, onProblem = () => {} }) {
    this.list = list;
    this.textbox = textbox;
    this.uploadTo = uploadTo;
    this.limits = limits || {};
    this.onChange = onChange;
    this.onProblem = onProblem;
    this.items = []; // {name, kind, size, state: "uploading" | "done" | "failed", data, chip…}
    this.show();
  }

  /** The server's account of each file uploaded ({id, name, kind, size, width, height…}). */
  get files() {
    return this.items.filter((item) => item.state === "done").map((item) => item.data);
  }

  get uploading() {
    return this.items.some((item) => item.state === "uploading");
  }

  get failed() {
    return this.items.some((item) => item.state === "failed");
  }

  /** Whether an image is among the files (a model needs "vision" to be sent it). */
  get hasImages() {
    return this.items.some((item) => item.state !== "failed" && item.kind === "image");
  }

  /** Uploads `files` (from the picker, a paste or a drop), as many as a message may carry. */
  add(files) {
    const most = this.limits.max_files ?? Infinity;
    const room = most - this.items.filter((item) => item.state !== "failed").length;
    const taken = files.slice(0, Math.max(0, room));
    if (taken.length < files.length) {
      this.onProblem(`A message can carry at most ${most} files.`);
    }
    for (const file of taken) this.addFile(file);
    if (taken.length) this.onChange();
  }

  addFile(file) {
    const facts = { name: file.name, kind: localKind(file), size: file.size };
    const item = this.addChip(facts, "uploading");
    if (item.kind === "image") {
      thumbnail(file).then((url) => {
        if (url && item.state !== "failed") this.showThumbnail(item, url);
      });
    }
    const most = this.limits.max_bytes;
    if (most && file.size > most) {
      this.fail(item, `Too large: a file can be at most ${fileSize(most)}.`);
      return;
    }
    item.request = upload(file, {
      ...this.uploadTo,
      onProgress: (fraction) => {
        item.progress.value = fraction;
      },
    });
    item.request.done.then(
      (data) => this.uploaded(item, data),
      (error) => {
        if (!(error instanceof UploadCancelled)) this.fail(item, error.message);
      },
    );
  }

  /** Files sent already (an edited message's), to keep or remove, in the order shown. */
  addSent(files) {
    for (const data of imagesFirst(files)) {
      const item = this.addChip(data, "done");
      this.uploaded(item, data);
      if (data.kind === "image") this.showThumbnail(item, attachmentAddress(data.id));
    }
  }

  /** Takes the files out, to send them: `restore` puts them back if the message is refused. */
  take() {
    const taken = this.items;
    this.items = [];
    for (const item of taken) item.chip.remove();
    this.show();
    return taken;
  }

  /** Puts back files `take` took, unless others were added meanwhile. */
  restore(items) {
    if (this.items.length || !items?.length) return;
    this.items = items;
    this.list.append(...items.map((item) => item.chip));
    this.show();
    this.onChange();
  }

  // Chips ------------------------------------------------------------------------------------

  addChip({ name, kind, size }, state) {
    const chip = element("li", "attachment");
    chip.dataset.kind = kind;
    const preview = element("span", "attachment-preview");
    preview.append(fileIcon(kind));
    const label = element("span", "attachment-label");
    const title = element("span", "attachment-name", name);
    title.title = name;
    const status = element("span", "attachment-status", fileSize(size));
    const progress = element("progress", "attachment-progress");
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute("aria-label", `Uploading ${name}`);
    label.append(title, status, progress);
    const item = { name, kind, size, state, data: null, chip, preview, status, progress };
    const remove = button(undefined, "attachment-remove", () => this.remove(item));
    remove.setAttribute("aria-label", `Remove ${name}`);
    remove.append(icon(REMOVE));
    chip.append(preview, label, remove);
    chip.dataset.state = item.state;
    this.items.push(item);
    this.list.append(chip);
    this.show();
    return item;
  }

  showThumbnail(item, url) {
    const image = element("img");
    image.alt = "";
    image.src = url;
    item.preview.replaceChildren(image);
  }

  uploaded(item, data) {
    item.state = "done";
    item.data = data;
    item.kind = data.kind;
    item.chip.dataset.state = "done";
    item.chip.dataset.kind = data.kind;
    item.chip.dataset.attachmentId = data.id;
    item.status.textContent = fileSize(data.size);
    this.onChange();
  }

  fail(item, detail) {
    item.state = "failed";
    item.preview.replaceChildren(fileIcon(item.kind)); // no picture of a file refused
    item.chip.dataset.state = "failed";
    item.status.textContent = detail;
    item.status.title = detail;
    item.status.setAttribute("role", "alert");
    this.onChange();
  }

  remove(item) {
    const at = this.items.indexOf(item);
    const focused = item.chip.contains(document.activeElement);
    item.request?.cancel();
    item.chip.remove();
    this.items.splice(at, 1);
    this.show();
    if (focused) {
      // The focus stays in the tray, on the chip now in its place, or goes back to the text.
      const next = this.items[Math.min(at, this.items.length - 1)];
      (next ? next.chip.querySelector(".attachment-remove") : this.textbox)?.focus();
    }
    this.onChange();
  }

  show() {
    this.list.hidden = this.items.length === 0;
  }
}
