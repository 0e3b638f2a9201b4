// One streamed part of an answer, its text or its reasoning: what was received, counted as the
// wire's offsets count it, and its rendering (a StreamingMarkdown of its own while it grows).
// Both parts take deltas by the same rules (docs/protocol.md): a duplicate is dropped, the
// unseen tail of an overlap is appended, a gap asks for a resume; and both drop, at the end,
// what the server says it did not store.

import { renderMarkdown, StreamingMarkdown } from "./markdown.js";
import { accept, codePointLength, takeCodePoints } from "./offsets.js";

export class Part {
  /** text: what is stored of it so far; element: where it is rendered (set before rendering). */
  constructor(text = "", element = null) {
    this.text = text;
    this.held = codePointLength(text); // code points received, as offsets count them
    this.element = element;
    this.renderer = null;
  }

  /** The stored text, rendered in one go. */
  renderStored() {
    if (this.text) this.element.replaceChildren(renderMarkdown(this.text));
  }

  /** The streaming renderer, taking over what is on screen (a stored render) if need be. */
  ensureRenderer() {
    if (!this.renderer) {
      this.renderer = new StreamingMarkdown(this.element);
      if (this.text) this.renderer.push(this.text);
    }
    return this.renderer;
  }

  /**
   * Applies a delta starting at code point `offset`. Returns null when text is missing before
   * it (the caller resumes), else what it added ("" for a duplicate).
   */
  apply(offset, text) {
    const verdict = accept(this.held, offset, text);
    if (verdict.gap) return null;
    if (verdict.append) {
      const renderer = this.ensureRenderer(); // before the text grows: it starts from the text
      this.text += verdict.append;
      this.held += codePointLength(verdict.append);
      renderer.push(verdict.append);
    }
    return verdict.append;
  }

  /** The part is complete (or stopped); resolves once its code is highlighted. */
  finish() {
    return this.renderer ? this.renderer.finish() : Promise.resolve();
  }

  /**
   * What was stored is `length` code points (null: not said): anything held beyond it is shown
   * no more, and the rest is rendered anew. Returns whether something was dropped.
   */
  keepStored(length) {
    if (length == null || length >= this.held) return false;
    this.renderer?.finish();
    this.renderer = null;
    this.text = takeCodePoints(this.text, length);
    this.held = length;
    this.element.replaceChildren();
    if (this.text) this.element.append(renderMarkdown(this.text));
    return true;
  }
}
