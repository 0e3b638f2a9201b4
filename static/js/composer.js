// The composer: a textarea that grows with its text (Enter sends, Shift+Enter is a new line;
// on a touch screen, whose keyboard has no Shift+Enter to speak of, Enter is a new line and
// the Send button, inside the box, sends),
// the model picker (picker.js), compare mode (two or three models side by side), the
// conversation's reasoning effort (with a word on the models that ignore it), the files going
// with the message (attachments.js), and send / stop.
//
// The textarea is never disabled: the reader can write the next message while an answer
// streams. Only sending waits: while a message is on its way, and while an answer is being
// written (then Stop takes the place of Send), and while files are being uploaded.

import { ModelPicker } from "./picker.js";

const MAX_COMPARE = 3;
// A screen touched with a finger, with no hover: a phone or a tablet without a mouse.
const TOUCH = window.matchMedia("(hover: none) and (pointer: coarse)");
const MODEL_KEY = "chat.model";

export class Composer {
  /**
   * reasoningEffort: the conversation's (off, low, medium, high). reasoningModels: the models
   * whose reasoning follows it ("provider:model"); the others ignore it. attachments: the
   * AttachmentTray of the files to send. capabilities: {"provider:model": ["vision", …]}, what
   * each model can be sent (none known: the server checks alone).
   */
  constructor(
    form,
    { reasoningEffort, reasoningModels, attachments, capabilities, onSend, onStop, onError },
  ) {
    this.form = form;
    this.attachments = attachments;
    this.capabilities = capabilities || {};
    this.onSend = onSend;
    this.onStop = onStop;
    this.onError = onError;
    this.textarea = form.elements.content;
    this.select = form.querySelector("select[name=model]"); // the picker's button shares its name
    this.picker = new ModelPicker(this.select);
    this.sendButton = form.elements.send;
    this.stopButton = form.elements.stop;
    this.compareButton = form.elements.compare;
    this.toolsButton = form.elements["tools-toggle"];
    this.toolsBox = form.querySelector(".tool-choices");
    this.toolBoxes = [...form.querySelectorAll("input[name=tools]")];
    this.effortSelect = form.elements.reasoning_effort;
    this.effortNote = form.querySelector(".effort-note");
    this.reasoningModels = new Set(reasoningModels || []);
    this.sending = false;
    this.streaming = false;
    this.closed = false; // the sign-in ended: nothing can be sent
    this.folded = false; // comparing, with the picks folded away since a message went

    // Required would make the browser's own bubble pop up on an empty Enter; an empty message
    // is simply not sent.
    this.textarea.required = false;
    this.showTouch();
    TOUCH.addEventListener("change", () => this.showTouch());
    this.restoreModel();
    this.textarea.addEventListener("input", () => this.resize());
    this.textarea.addEventListener("keydown", (event) => this.onKeydown(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.stopButton.addEventListener("click", () => this.onStop());
    this.select.addEventListener("change", () => this.rememberModel());
    if (this.select.options.length < 2) this.compareButton.hidden = true;
    this.compareButton.addEventListener("click", () => this.toggleCompare());
    this.toolsButton.addEventListener("click", () => this.toggleTools());
    for (const box of this.toolBoxes) box.addEventListener("change", () => this.labelTools());
    this.labelTools();
    if (reasoningEffort) this.effortSelect.value = reasoningEffort;
    this.select.addEventListener("change", () => this.labelEffort());
    this.effortSelect.addEventListener("change", () => this.labelEffort());
    this.picker.root.addEventListener("picks", () => this.labelEffort());
    this.labelEffort();
    this.resize();
  }

  onKeydown(event) {
    const typing = event.isComposing || event.keyCode === 229;
    if (event.key === "Enter" && !event.shiftKey && !typing && !TOUCH.matches) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "Escape" && !event.shiftKey && this.streaming) {
      // Escape stops the answer being written (Shift+Escape is "go to the message box").
      event.preventDefault();
      this.onStop();
    }
  }

  /** On a touch screen the box says how to send (its hint is about Shift+Enter otherwise). */
  showTouch() {
    this.form.classList.toggle("touch", TOUCH.matches);
    this.textarea.enterKeyHint = TOUCH.matches ? "enter" : "send";
  }

  /** The models the next message goes to: the picker's one, or the ones picked to compare. */
  models() {
    return this.comparing ? [...this.picker.picks] : [this.select.value];
  }

  /** The built-in tools the conversation lets the model call. */
  tools() {
    return this.toolBoxes.filter((box) => box.checked).map((box) => box.value);
  }

  toggleTools() {
    const open = this.toolsButton.getAttribute("aria-pressed") !== "true";
    this.toolsButton.setAttribute("aria-pressed", String(open));
    this.toolsBox.hidden = !open;
  }

  labelTools() {
    const count = this.tools().length;
    this.toolsButton.textContent = count ? `Tools (${count})` : "Tools";
  }

  /** How hard models that can reason are asked to (off, low, medium, high). */
  reasoningEffort() {
    return this.effortSelect.value;
  }

  /**
   * Says which of the models the next message goes to ignore the effort: in words beside the
   * control once an effort is asked for, and always in its description and tooltip.
   */
  labelEffort() {
    const ignoring = this.models().filter((model) => !this.reasoningModels.has(model));
    const names = ignoring.map((model) => model.slice(model.indexOf(":") + 1));
    const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
    this.effortNote.textContent = list ? `ignored by ${list}` : "";
    this.effortNote.hidden = !list || this.effortSelect.value === "off";
    this.effortSelect.title = !list ? "" : `${list} ${names.length > 1 ? "ignore" : "ignores"} reasoning effort`;
    this.effortSelect.classList.toggle("ignored", Boolean(list));
  }

  /** The conversation's settings the composer holds: the model, the effort and the tools. */
  settings() {
    return { model: this.select.value, reasoning_effort: this.reasoningEffort(), tools: this.tools() };
  }

  /** Shows `settings` (any of model, reasoning_effort, tools) in the composer's controls. */
  applySettings({ model, reasoning_effort: effort, tools }) {
    if (model && [...this.select.options].some((option) => option.value === model)) {
      this.select.value = model;
      this.rememberModel();
    }
    if (effort) this.effortSelect.value = effort;
    if (tools) for (const box of this.toolBoxes) box.checked = tools.includes(box.value);
    this.labelTools();
    this.labelEffort();
  }

  get comparing() {
    return this.compareButton.getAttribute("aria-pressed") === "true";
  }

  submit() {
    const content = this.textarea.value;
    if (!content.trim() || this.sending || this.streaming || this.closed) return;
    const models = this.models();
    if (models.length < 1 || (this.comparing && models.length < 2)) {
      this.onError("Pick two or three models to compare.");
      return;
    }
    const problem = this.filesProblem(models);
    if (problem) {
      this.onError(problem);
      return;
    }
    this.textarea.value = "";
    this.resize();
    if (this.comparing) this.foldCompare(true); // the answers need the room now
    this.onSend({ content, models, attachments: this.attachments.take() });
  }

  /** Why the files in the composer cannot go to `models` now, or "". */
  filesProblem(models) {
    if (this.attachments.uploading) return "Wait for the files to finish uploading.";
    if (this.attachments.failed) return "Remove the files that could not be uploaded first.";
    return this.attachments.hasImages ? this.imagesProblem(models) : "";
  }

  /**
   * Why images cannot go to `models`, or "": one of them is known not to see them (the server
   * refuses them too; this says so before anything is sent).
   */
  imagesProblem(models) {
    const blind = models.find((model) => {
      const can = this.capabilities[model];
      return can && !can.includes("vision");
    });
    if (!blind) return "";
    const option = [...this.select.options].find((o) => o.value === blind);
    const name = option ? option.textContent.trim() : blind;
    return `${name} cannot read images: pick a model that can, or remove the images.`;
  }

  /**
   * Puts back a message the server refused (its text, unless the reader has started a new
   * one, and its files, unless others were added meanwhile).
   */
  restore(content, attachments) {
    this.attachments.restore(attachments);
    if (this.textarea.value.trim()) return;
    this.textarea.value = content;
    this.resize();
  }

  focus() {
    this.textarea.focus({ preventScroll: true });
  }

  /**
   * Ready for typing (the page is wired up): the cursor starts here, in a new chat and in one
   * opened from the list alike. An open conversation on a touch screen is the exception:
   * focusing the box would pop the on-screen keyboard up over the conversation the reader
   * came to read, so a tap on the box is the way in there. "(hover: none)" with a coarse
   * pointer is what touch-only devices report; a laptop with a touch screen still has a
   * pointer that hovers, and gets the focus.
   */
  enable() {
    this.textarea.disabled = false;
    const touchOnly = window.matchMedia?.("(hover: none) and (pointer: coarse)").matches;
    if (!this.form.dataset.conversation || !touchOnly) this.focus();
  }

  resize() {
    // Through the CSSOM, which a style-src policy allows (it refuses style attributes).
    this.textarea.style.height = "auto";
    this.textarea.style.height = `${this.textarea.scrollHeight + 2}px`;
  }

  setSending(sending) {
    this.sending = sending;
    this.update();
  }

  /** The sign-in ended: messages can no longer be sent from this page. */
  close() {
    this.closed = true;
    this.update();
  }

  /** The conversation is gone (deleted in another tab): nothing can be typed either. */
  disable() {
    this.textarea.disabled = true;
    this.close();
  }

  setStreaming(streaming) {
    this.streaming = streaming;
    this.update();
  }

  update() {
    this.sendButton.hidden = this.streaming;
    this.stopButton.hidden = !this.streaming;
    const uploading = this.attachments.uploading;
    this.sendButton.disabled = this.sending || this.closed || uploading;
    this.sendButton.title = uploading ? "Waiting for the files to upload" : "";
    this.sendButton.textContent = this.sending ? "Sending…" : "Send";
  }

  /**
   * Compare mode: on (the picker picks several, starting from the conversation's model, and
   * opens to pick them), folded away once a message went (still on; a click opens the picks
   * again), off (the picker is single-select again, on the conversation's model, which the
   * select kept: it is disabled meanwhile, as it is not what is sent).
   */
  toggleCompare() {
    if (this.comparing && this.folded) {
      this.foldCompare(false);
      return;
    }
    const on = !this.comparing;
    this.compareButton.setAttribute("aria-pressed", String(on));
    this.select.disabled = on;
    this.form.classList.toggle("comparing", on);
    this.picker.setMultiple(on, on ? [this.select.value] : [], MAX_COMPARE);
    this.foldCompare(!on);
    this.labelEffort();
  }

  /** Folds the picks away (after a message went, or compare mode ended) or opens them again. */
  foldCompare(folded) {
    const count = this.picker.picks.length;
    this.folded = this.comparing && folded;
    if (folded) this.picker.close(false);
    else this.picker.open();
    this.compareButton.textContent = this.folded ? `Compare (${count})` : "Compare";
  }

  // A new chat starts with the default model saved on the account page (the server selects
  // it; picking another changes that chat only); with none saved, with the last model picked.
  // An open conversation keeps its own.
  restoreModel() {
    if (this.form.dataset.conversation || "savedDefault" in this.form.dataset) return;
    try {
      const saved = localStorage.getItem(MODEL_KEY);
      if (saved && [...this.select.options].some((option) => option.value === saved)) {
        this.select.value = saved;
      }
    } catch {
      // Storage may be off (private windows): the server's default stands.
    }
  }

  rememberModel() {
    try {
      localStorage.setItem(MODEL_KEY, this.select.value);
    } catch {
      // See restoreModel.
    }
  }
}
