// One message on screen: its element, its text as received, how it ended, and its buttons.
//
// The element keeps the hooks tests and styles rely on: data-message-id, data-role and
// data-status (kept current while the answer streams). Text from the network reaches the DOM
// only through the sanitizing markdown renderer (answers) or textContent (everything else).

import { copyWithFeedback } from "./clipboard.js";
import { button, element } from "./dom.js";
import { renderMarkdown, StreamingMarkdown } from "./markdown.js";
import { accept, codePointLength, takeCodePoints } from "./offsets.js";

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

/** What to say under an answer that did not complete. */
function noteFor(status, error) {
  return CONTINUABLE.has(status) ? error || NOTES[status] : error || "";
}

function modelName(model) {
  return model.includes(":") ? model.slice(model.indexOf(":") + 1) : model;
}

/** "gpt-4o · 320 ms to first token · 48.2 tokens/s · 512 tokens" from what is known. */
export function metricsLine({ model, ttft_ms, tokens_per_second, output_tokens }) {
  const parts = [];
  if (model) parts.push(modelName(model));
  if (ttft_ms != null) {
    const ttft = ttft_ms < 1000 ? `${ttft_ms} ms` : `${(ttft_ms / 1000).toFixed(1)} s`;
    parts.push(`${ttft} to first token`);
  }
  if (tokens_per_second != null) parts.push(`${Number(tokens_per_second).toFixed(1)} tokens/s`);
  if (output_tokens != null) parts.push(`${output_tokens} tokens`);
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
   * data: {id, role, text, status, model, reply_to, tool_calls, ttft_ms, error, …} as in the
   * page data. actions: what the buttons ask for (see Transcript).
   */
  constructor(data, actions) {
    this.id = data.id ?? null;
    this.role = data.role;
    this.model = data.model || "";
    this.replyTo = data.reply_to ?? null;
    this.text = data.text || "";
    this.held = codePointLength(this.text); // code points received, as offsets count them
    this.status = data.status || "complete";
    this.actions = actions;
    this.renderer = null;
    this.busy = false; // a request about this answer awaits the server's reply
    this.metrics = {
      ttft_ms: data.ttft_ms,
      tokens_per_second: data.tokens_per_second,
      output_tokens: data.output_tokens,
    };
    this.versionIndex = 0;
    this.versionCount = 1;
    this.build();
    this.renderStored(data);
  }

  /** An answer still being written (or about to be). */
  get live() {
    return this.role === "assistant" && LIVE.has(this.status);
  }

  build() {
    const root = element("article", `message ${this.role}`);
    root.dataset.messageId = this.id ?? "";
    root.dataset.role = this.role;
    root.dataset.status = this.status;
    this.element = root;
    if (this.role === "tool") {
      root.setAttribute("aria-label", "Tool result");
      return;
    }
    this.body = element("div", this.role === "assistant" ? "body markdown" : "body plain");
    root.append(this.body);
    this.tools = element("div", "tool-calls");
    this.tools.hidden = true;
    this.note = element("p", "note");
    this.note.hidden = true;
    this.footer = element("footer", "message-footer");
    const actions = element("div", "actions");
    this.copyButton = button("Copy", "action", () => copyWithFeedback(this.copyButton, this.text),
      this.role === "assistant" ? "Copy answer" : "Copy message");
    actions.append(this.copyButton);
    if (this.role === "assistant") {
      this.versions = element("div", "versions");
      this.versions.setAttribute("role", "group");
      this.versions.setAttribute("aria-label", "Versions of this answer");
      const step = (by) => () => this.actions.selectVersion(this, by);
      this.previousButton = button("‹", "action version-step", step(-1), "Previous version");
      this.versionLabel = element("span", "version-label");
      this.nextButton = button("›", "action version-step", step(1), "Next version");
      this.versions.append(this.previousButton, this.versionLabel, this.nextButton);
      this.versions.hidden = true;
      const regenerate = () => this.actions.regenerate(this);
      const resume = () => this.actions.continueAnswer(this);
      this.regenerateButton = button("Regenerate", "action", regenerate, "Regenerate answer");
      this.continueButton = button("Continue", "action", resume, "Continue answer");
      actions.append(this.regenerateButton, this.continueButton);
      this.metricsLine = element("p", "metrics");
      this.footer.append(this.versions, actions, this.metricsLine);
      root.append(this.tools, this.note, this.footer);
    } else {
      this.footer.append(actions);
      root.append(this.footer);
    }
  }

  renderStored(data) {
    if (this.role === "tool") {
      this.element.append(toolCallBlock({ name: data.model, arguments: "" }, data.text));
      return;
    }
    if (this.role !== "assistant") {
      this.body.textContent = this.text;
      return;
    }
    if (this.text) this.body.replaceChildren(renderMarkdown(this.text));
    for (const call of data.tool_calls || []) this.addToolCall(call, call.result);
    this.showNote(noteFor(this.status, data.error));
    this.setStatus(this.status);
    this.showMetrics();
    if (this.live) this.ensureRenderer();
  }

  /** The streaming renderer, taking over what is on screen (a stored render) if need be. */
  ensureRenderer() {
    if (!this.renderer) {
      this.renderer = new StreamingMarkdown(this.body);
      if (this.text) this.renderer.push(this.text);
    }
    return this.renderer;
  }

  setId(id) {
    this.id = id;
    this.element.dataset.messageId = id;
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
    if (this.role !== "assistant") return;
    const settled = !this.live && !this.busy;
    this.footer.hidden = this.live && !this.text;
    this.copyButton.hidden = this.live;
    this.regenerateButton.hidden = !settled;
    this.continueButton.hidden = !settled || !CONTINUABLE.has(this.status);
    this.previousButton.disabled = !settled || this.versionIndex <= 0;
    this.nextButton.disabled = !settled || this.versionIndex >= this.versionCount - 1;
  }

  /** Shows "‹ 2/3 ›" when the answer has more than one version. */
  setVersions(index, count) {
    this.versionIndex = index;
    this.versionCount = count;
    if (this.role !== "assistant") return;
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

  // Frames ---------------------------------------------------------------------------------

  start(frame) {
    if (frame.model) this.model = frame.model;
    this.busy = false;
    this.showNote("");
    this.setStatus("streaming");
    this.showMetrics();
  }

  /** Applies a delta; returns true when text is missing before it (the caller resumes). */
  delta(frame) {
    const verdict = accept(this.held, frame.offset, frame.text);
    if (verdict.gap) return true;
    if (verdict.append) {
      const renderer = this.ensureRenderer(); // before the text grows: it starts from the text
      this.text += verdict.append;
      this.held += codePointLength(verdict.append);
      renderer.push(verdict.append);
      if (this.footer.hidden) this.updateButtons();
    }
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
    };
    // The answer is what was stored: text beyond it on screen is shown no more (and Continue
    // goes on from what is shown).
    const lost = frame.length != null && frame.length < this.held;
    if (lost) this.cutTo(frame.length);
    this.setStatus(frame.status);
    this.showNote(lost ? LOST_END : noteFor(frame.status, frame.error));
    this.showMetrics();
    return this.renderer ? this.renderer.finish() : Promise.resolve();
  }

  /** Keeps only the first `length` code points of the text, rendered anew. */
  cutTo(length) {
    this.renderer?.finish();
    this.renderer = null;
    this.text = takeCodePoints(this.text, length);
    this.held = length;
    this.body.replaceChildren();
    if (this.text) this.body.append(renderMarkdown(this.text));
  }
}
