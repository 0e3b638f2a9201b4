// One message on screen: its element, its text as received, how it ended, and its buttons.
//
// The element keeps the hooks tests and styles rely on: data-message-id, data-role and
// data-status (kept current while the answer streams). Text from the network reaches the DOM
// only through the sanitizing markdown renderer (answers and the user's own messages) or
// textContent (everything else).

import { attachedFiles } from "./attached.js";
import { AttachmentTray } from "./attachments.js";
import { copyWithFeedback } from "./clipboard.js";
import { button, element } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { Part } from "./part.js";
import { PhaseLine, ReasoningBlock } from "./reasoning.js";
import { SilenceNotice } from "./silence.js";
import { timeStamp } from "./stamp.js";

const LIVE = new Set(["pending", "streaming"]);
const CONTINUABLE = new Set(["stopped", "failed", "interrupted"]);
const NOTES = {
  stopped: "Stopped.",
  failed: "The answer failed.",
  interrupted: "The answer was interrupted.",
};
// Said when the page showed more of an answer than was stored: the process sending it died
// between two checkpoints, and the end the reader saw is gone.
const LOST_END = "The server stopped; the last part of this answer was not saved.";

// A user message longer than this is shown folded, with "Show more".
const FOLD_LINES = 12;
const FOLD_CHARS = 1200;
let folds = 0; // for the ids the "Show more" buttons control

/** Whether a message of the user's is long enough to be shown folded. */
export function isLong(text) {
  return text.length > FOLD_CHARS || text.split("\n").length > FOLD_LINES;
}

/**
 * What to say under an answer that did not complete, or that the model ended before it was
 * done (`note`: "Stopped at the length limit.", from the end frame or the page data).
 */
function noteFor(status, error, note) {
  return CONTINUABLE.has(status) ? error || NOTES[status] : error || note || "";
}

/** Whether Continue may take the answer up: the server says (`continuable`), else its status. */
function canContinue(status, continuable) {
  return continuable ?? CONTINUABLE.has(status);
}

let providerLabels = {}; // provider -> the name a badge shows ("OpenAI"), from the page data

/** The providers' names, as the page data gives them (`provider_labels`). */
export function setProviderLabels(labels) {
  providerLabels = labels || {};
}

function modelName(model) {
  return model.includes(":") ? model.slice(model.indexOf(":") + 1) : model;
}

/** "temperature ignored (needs 1)" from the server's "temperature ignored: needs 1". */
function settingsNote(note) {
  const at = note.indexOf(": ");
  return at < 0 ? note : `${note.slice(0, at)} (${note.slice(at + 2)})`;
}

/**
 * "gpt-4o · 320 ms to first token · 48.2 tokens/s · 512 tokens · 300 reasoning" from what is
 * known, then what the provider adapted or ignored of the settings ("temperature ignored (…)").
 */
export function metricsLine({
  model,
  ttft_ms,
  tokens_per_second,
  output_tokens,
  reasoning_tokens,
  settings_notes,
}) {
  const parts = [];
  if (model) parts.push(modelName(model));
  if (ttft_ms != null) {
    const ttft = ttft_ms < 1000 ? `${ttft_ms} ms` : `${(ttft_ms / 1000).toFixed(1)} s`;
    parts.push(`${ttft} to first token`);
  }
  if (tokens_per_second != null) parts.push(`${Number(tokens_per_second).toFixed(1)} tokens/s`);
  if (output_tokens != null) parts.push(`${output_tokens} tokens`);
  if (reasoning_tokens != null) parts.push(`${reasoning_tokens} reasoning`);
  for (const note of settings_notes || []) parts.push(settingsNote(note));
  return parts.join(" · ");
}

function argumentsText(args) {
  if (typeof args === "string") return args;
  return JSON.stringify(args ?? {}, null, 2);
}

/** A tool call as a small collapsible block: name and result in the summary, details inside. */
export function toolCallBlock(call, result) {
  const details = element("details", "tool-call");
  const summary = element("summary");
  const name = element("code", "", call.name || "tool");
  summary.append(element("span", "tool-label", "Tool"), " ", name);
  if (result !== undefined && result !== null) {
    summary.append(" → ", element("span", "tool-result", String(result).slice(0, 80)));
  }
  const body = element("div", "tool-detail");
  body.append(
    element("p", "tool-heading", "Arguments"),
    element("pre", "", argumentsText(call.arguments)),
  );
  if (result !== undefined && result !== null) {
    body.append(element("p", "tool-heading", "Result"), element("pre", "", String(result)));
  }
  details.append(summary, body);
  return details;
}

export class MessageView {
  /**
   * data: {id, role, text, reasoning, status, model, reply_to, tool_calls, ttft_ms, error,
   * attachments, …} as in the page data. actions: what the buttons ask for, and where the
   * transcript scrolls (see Transcript).
   */
  constructor(data, actions) {
    this.id = data.id ?? null;
    this.role = data.role;
    this.model = data.model || "";
    this.replyTo = data.reply_to ?? null;
    this.attachments = data.attachments || []; // the files a user message carries
    this.answer = new Part(data.text || ""); // the text; rendered into the body (answers)
    this.status = data.status || "complete";
    this.continuable = canContinue(this.status, data.continuable);
    this.actions = actions;
    this.busy = false; // a request about this answer awaits the server's reply
    this.metrics = {
      ttft_ms: data.ttft_ms,
      tokens_per_second: data.tokens_per_second,
      output_tokens: data.output_tokens,
      reasoning_tokens: data.reasoning_tokens,
      settings_notes: data.settings_notes,
    };
    this.versionIndex = 0;
    this.versionCount = 1;
    this.versionIds = data.versions?.length ? [...data.versions] : [this.id];
    this.build(data);
    this.renderStored(data);
    if (this.footer) this.updateButtons();
  }

  /** The text received so far. */
  get text() {
    return this.answer.text;
  }

  /** Code points of text received, as offsets count them. */
  get held() {
    return this.answer.held;
  }

  /** Code points of reasoning received. */
  get reasoningHeld() {
    return this.thought ? this.thought.held : 0;
  }

  /** An answer still being written (or about to be). */
  get live() {
    return this.role === "assistant" && LIVE.has(this.status);
  }

  build(data) {
    const root = element("article", `message ${this.role}`);
    root.dataset.messageId = this.id ?? "";
    root.dataset.role = this.role;
    root.dataset.status = this.status;
    this.element = root;
    if (this.role === "tool") {
      root.setAttribute("aria-label", "Tool result");
      return;
    }
    this.body = element("div", this.role === "assistant" ? "body markdown" : "body markdown mine");
    this.answer.element = this.body;
    if (this.role === "assistant") {
      this.thought = new ReasoningBlock(data, this.actions);
      this.phaseLine = new PhaseLine();
      // Which model answers, and from which provider: at the top, as in a compare column.
      this.badge = element("p", "model-badge");
      this.showBadge();
      root.append(this.badge, this.thought.element, this.phaseLine.element);
      root.append(this.body);
    } else {
      // The bubble: the message, "Show more" under it when it is long, then its files.
      this.bubble = element("div", "bubble");
      this.bubble.append(this.body);
      if (this.attachments.length) this.bubble.append(attachedFiles(this.attachments));
      root.append(this.bubble);
    }
    if (this.role === "assistant") {
      // Only once the text has begun: before, the phase line (or the reasoning) says it.
      this.silence = new SilenceNotice(
        () => this.live && this.text !== "" && this.element.dataset.phase === undefined,
      );
      root.append(this.silence.element);
    }
    this.tools = element("div", "tool-calls");
    this.tools.hidden = true;
    this.note = element("p", "note");
    this.note.hidden = true;
    this.footer = element("footer", "message-footer");
    this.stamp = timeStamp(data.created_at);
    this.createdAt = this.stamp.dateTime;
    const actions = element("div", "actions");
    this.copyButton = button("Copy", "action", () => copyWithFeedback(this.copyButton, this.text),
      this.role === "assistant" ? "Copy answer" : "Copy message");
    actions.append(this.copyButton);
    this.versions = element("div", "versions");
    this.versions.setAttribute("role", "group");
    const what = this.role === "assistant" ? "answer" : "message";
    this.versions.setAttribute("aria-label", `Versions of this ${what}`);
    const step = (by) => () => this.actions.selectVersion(this, by);
    this.previousButton = button("‹", "action version-step", step(-1), "Previous version");
    this.versionLabel = element("span", "version-label");
    this.nextButton = button("›", "action version-step", step(1), "Next version");
    this.versions.append(this.previousButton, this.versionLabel, this.nextButton);
    this.versions.hidden = true;
    const fork = () => this.actions.fork(this);
    this.forkButton = button("Fork", "action", fork, "Start a new chat from here");
    if (this.role === "assistant") {
      const regenerate = () => this.actions.regenerate(this);
      const resume = () => this.actions.continueAnswer(this);
      this.regenerateButton = button("Regenerate", "action", regenerate, "Regenerate answer");
      this.continueButton = button("Continue", "action", resume, "Continue answer");
      // Compared side by side with others: go on with this one (the others become versions).
      this.compared = false;
      const keep = () => this.actions.keepAnswer(this);
      this.keepButton = button("Keep this one", "action", keep, "Continue with this answer");
      actions.append(this.keepButton, this.regenerateButton, this.continueButton, this.forkButton);
      this.metricsLine = element("p", "metrics");
      this.footer.append(this.versions, actions, this.stamp, this.metricsLine);
      root.append(this.tools, this.note, this.footer);
    } else {
      this.editButton = button("Edit", "action", () => this.startEditing(), "Edit message");
      actions.append(this.editButton, this.forkButton);
      this.footer.append(this.versions, actions, this.stamp);
      root.append(this.footer);
    }
  }

  // Editing (user messages) ------------------------------------------------------------------

  /**
   * The message's text in a box in its place, to send again as a new version (a new branch),
   * its files as chips over it, to keep or remove: Send (or Ctrl/⌘+Enter) sends it, Cancel
   * (or Escape) puts the message back.
   */
  startEditing() {
    if (this.editor || this.id === null) return;
    const form = element("form", "edit-form");
    const tray = element("ul", "attachment-tray");
    tray.setAttribute("aria-label", "Files to send");
    const box = element("textarea", "edit-box");
    const files = new AttachmentTray(tray, { textbox: box });
    files.addSent(this.attachments);
    box.value = this.text;
    box.rows = Math.min(12, Math.max(2, this.text.split("\n").length));
    box.setAttribute("aria-label", "Edit your message");
    const send = element("button", "primary", "Send");
    send.type = "submit";
    const cancel = button("Cancel", "action", () => this.stopEditing());
    const controls = element("div", "edit-controls");
    controls.append(cancel, send);
    form.append(tray, box, controls);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const content = box.value;
      if (!content.trim()) return;
      const kept = files.files;
      // The box only takes files away: as many kept as there were is all of them.
      const sameFiles = kept.length === this.attachments.length;
      if (content === this.text && sameFiles) {
        this.stopEditing();
        return;
      }
      send.disabled = true;
      this.actions.edit(this, content, sameFiles ? undefined : kept);
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.stopEditing();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    this.editor = form;
    this.bubble.hidden = true;
    this.footer.hidden = true;
    this.bubble.after(form);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  /** The edit was refused: the box stays, with what was typed, to try again. */
  editRefused() {
    if (this.editor) this.editor.querySelector("button[type=submit]").disabled = false;
  }

  stopEditing() {
    if (!this.editor) return;
    this.editor.remove();
    this.editor = null;
    this.bubble.hidden = false;
    this.footer.hidden = false;
    this.editButton.focus();
  }

  renderStored(data) {
    if (this.role === "tool") {
      this.element.append(toolCallBlock({ name: data.model, arguments: "" }, data.text));
      return;
    }
    if (this.role !== "assistant") {
      this.showMine();
      return;
    }
    this.answer.renderStored();
    for (const call of data.tool_calls || []) this.addToolCall(call, call.result);
    this.showNote(noteFor(this.status, data.error, data.note));
    this.setStatus(this.status);
    this.showMetrics();
    if (!this.live) return;
    this.answer.ensureRenderer();
    // Still thinking when the page was made: the block is open from the start, and the start
    // frame of the resume says since when.
    if (this.thought.held && !this.text) this.setPhase("thinking");
  }

  /**
   * The user's own message, as markdown through the same sanitizing renderer as answers, in
   * one go (it does not stream): a pasted code block shows as code, raw HTML as text. A long
   * one is folded under "Show more". Copy and Edit take the text as typed (`this.text`).
   */
  showMine() {
    const fragment = renderMarkdown(this.text, { breaks: true });
    // The renderer's newlines between blocks are not part of the message's text.
    for (const node of [...fragment.childNodes]) {
      if (node.nodeType === Node.TEXT_NODE && !node.textContent.trim()) node.remove();
    }
    this.body.replaceChildren(fragment);
    this.fold?.remove();
    this.fold = null;
    if (!isLong(this.text)) {
      delete this.body.dataset.folded;
      return;
    }
    this.body.id ||= `message-text-${++folds}`;
    this.fold = button("Show more", "action fold", () => this.setFolded(!this.folded));
    this.fold.setAttribute("aria-controls", this.body.id);
    this.body.after(this.fold);
    this.setFolded(true);
  }

  get folded() {
    return this.body.dataset.folded === "true";
  }

  setFolded(folded) {
    this.body.dataset.folded = String(folded);
    this.fold.textContent = folded ? "Show more" : "Show less";
    this.fold.setAttribute("aria-expanded", String(!folded));
    if (folded && this.fold === document.activeElement) this.element.scrollIntoView({ block: "nearest" });
  }

  /** What the page data would say of this answer, to show it again. */
  data() {
    const { id, text, status, model, replyTo, continuable } = this;
    // The note shown is what noteFor makes of it again.
    const said = this.note?.textContent || null;
    const note = CONTINUABLE.has(status) ? { error: said } : { note: said };
    const reasoning = this.thought?.data();
    const shown = { id, text, status, model, reply_to: replyTo, continuable, ...note };
    shown.created_at = this.createdAt;
    return { ...shown, ...this.metrics, ...reasoning };
  }

  setId(id) {
    this.id = id;
    this.element.dataset.messageId = id;
    if (this.footer) this.updateButtons();
  }

  setStatus(status) {
    this.status = status;
    this.element.dataset.status = status;
    if (this.live) this.element.setAttribute("aria-busy", "true");
    else this.element.removeAttribute("aria-busy");
    this.updateButtons();
  }

  setBusy(busy) {
    this.busy = busy;
    this.updateButtons();
  }

  updateButtons() {
    const settled = !this.live && !this.busy;
    this.previousButton.disabled = !settled || this.versionIndex <= 0;
    this.nextButton.disabled = !settled || this.versionIndex >= this.versionCount - 1;
    this.forkButton.hidden = !settled || this.id === null;
    if (this.role !== "assistant") {
      this.editButton.hidden = this.busy || this.id === null;
      return;
    }
    this.footer.hidden = this.live && !this.text;
    this.copyButton.hidden = this.live;
    this.regenerateButton.hidden = !settled;
    this.continueButton.hidden = !settled || !this.continuable;
    this.keepButton.hidden = !settled || !this.compared;
  }

  /** Shows "‹ 2/3 ›" when the message has more than one version. */
  setVersions(index, count) {
    this.versionIndex = index;
    this.versionCount = count;
    if (!this.versions) return;
    this.versions.hidden = count < 2;
    this.versionLabel.textContent = `${index + 1}/${count}`;
    this.updateButtons();
  }

  showNote(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  showMetrics() {
    if (this.role !== "assistant") return;
    this.metricsLine.textContent = metricsLine({ model: this.model, ...this.metrics });
  }

  /**
   * What the answer does before its text (docs/protocol.md, message.phase): `waiting`,
   * `thinking`, `tool` or `writing`, `elapsedMs` into it. Shown until the text begins; the
   * typing cursor waits for the text meanwhile.
   */
  setPhase(phase, elapsedMs) {
    if (!this.live || this.text) return;
    if (phase === "thinking") this.thought.think(elapsedMs);
    else this.thought.settle();
    if (phase === "waiting" || phase === "tool") this.phaseLine.show(phase, elapsedMs);
    else this.phaseLine.hide();
    if (phase === "writing") delete this.element.dataset.phase;
    else this.element.dataset.phase = phase;
  }

  /** The answer's text began (or it ended): no phase any more. */
  endPhase() {
    this.thought.settle();
    this.phaseLine.hide();
    delete this.element.dataset.phase;
  }

  // Frames ---------------------------------------------------------------------------------

  /** One of several answers to its question, side by side (compare mode). */
  setCompared(compared) {
    this.compared = compared;
    this.updateButtons();
  }

  /** "gpt-4o" and, quieter, "OpenAI" above the answer. */
  showBadge() {
    const provider = this.model.includes(":") ? this.model.slice(0, this.model.indexOf(":")) : "";
    const label = providerLabels[provider] || provider;
    this.badge.replaceChildren(element("span", "model-name", modelName(this.model)));
    if (label) this.badge.append(element("span", "model-provider", label));
    this.badge.hidden = !this.model;
  }

  start(frame) {
    if (frame.model) this.model = frame.model;
    this.showBadge();
    this.busy = false;
    this.showNote("");
    this.continuable = false;
    this.setStatus("streaming");
    this.silence.heard();
    this.showMetrics();
    // What a live answer is doing, and since when (null for one read back after it ended).
    if (frame.phase) this.setPhase(frame.phase, frame.phase_elapsed_ms);
  }

  phase(frame) {
    this.silence.heard();
    this.setPhase(frame.phase, frame.elapsed_ms);
  }

  /** Applies a delta; returns true when text is missing before it (the caller resumes). */
  delta(frame) {
    this.silence.heard();
    if (frame.part === "reasoning") {
      if (!this.text && this.live) this.setPhase("thinking");
      return !this.thought.apply(frame);
    }
    const added = this.answer.apply(frame.offset, frame.text);
    if (added === null) return true;
    if (added && this.element.dataset.phase !== undefined) this.endPhase();
    if (added && this.footer.hidden) this.updateButtons();
    return false;
  }

  addToolCall(call, result) {
    this.tools.append(toolCallBlock(call, result));
    this.tools.hidden = false;
  }

  end(frame) {
    this.metrics = {
      ttft_ms: frame.ttft_ms,
      tokens_per_second: frame.tokens_per_second,
      output_tokens: frame.usage?.output_tokens,
      reasoning_tokens: frame.usage?.reasoning_tokens,
      settings_notes: frame.settings_notes,
    };
    // The answer is what was stored: text and reasoning beyond it on screen are shown no more
    // (and Continue goes on from what is shown).
    const lostText = this.answer.keepStored(frame.length);
    const lostReasoning = this.thought.end(frame);
    this.phaseLine.hide();
    this.silence.stop();
    delete this.element.dataset.phase;
    this.continuable = canContinue(frame.status, frame.continuable);
    this.setStatus(frame.status);
    const note = noteFor(frame.status, frame.error, frame.note);
    this.showNote(lostText || lostReasoning ? LOST_END : note);
    this.showMetrics();
    return Promise.all([this.answer.finish(), this.thought.finish()]).then(() => undefined);
  }
}
