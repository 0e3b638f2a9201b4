// Incremental rendering of a streaming answer.
//
// Text is only buffered when it arrives; once per animation frame the renderer
//   1. freezes every top-level block that can no longer change: it is rendered once, appended,
//      and never touched again (so a selection in it survives while the answer streams);
//   2. re-renders only the still-open last block (the tail), after repairing its end;
//   3. while the tail is an open code fence, appends the new code to the code element's text
//      node instead of rendering anything.
// A block is frozen only when a later block has begun on a complete line (the parser's decision
// to end a block is made on the line that starts the next one, and nothing after that line can
// undo it), or, for a code fence, once its closing line is complete. The exception is link reference definitions ("[x]: https://…", footnotes use the
// same syntax), which change links anywhere in the message: such a message is re-rendered
// whole. The end result is the same DOM a one-shot render of the whole text gives.
import { highlightWhenIdle } from "./code.js";
import { drawDiagrams } from "./diagrams.js";
import { closesFence, lineStarts, topLevelBlocks } from "./blocks.js";
import { normalizeNewlines, renderFragment } from "./render.js";
import { repairTail } from "./repair.js";

const OPENING_FENCE = /^(`{3,}|~{3,})/;

export class StreamingMarkdown {
  /**
   * Renders into `element`, whose children it owns from now on. Children already there (say,
   * renderMarkdown() of the part stored so far) are replaced on the first frame, except for
   * blocks that come out identical, which stay as they are.
   */
  constructor(element) {
    this.element = element;
    this.source = ""; // normalized text received so far
    this.pending = ""; // received, not yet looked at by a frame
    this.frozenLength = 0; // source[0:frozenLength] is rendered and final
    this.tailNodes = Array.from(element.childNodes); // the nodes showing source[frozenLength:]
    this.reopenAt = null; // after finish(): where the last blocks began, if more text comes
    this.tailShown = null; // the (repaired) tail text those nodes show
    this.fence = null; // the open code fence being appended to, if any
    this.wholeDocument = false; // reference definitions seen: re-render everything
    this.finished = false;
    this.frame = 0;
    this.highlights = [];
    this.stats = { frames: 0, freezes: 0, tailRenders: 0, fenceAppends: 0, lastFrameMs: 0 };
    this.onFrame = this.onFrame.bind(this);
  }

  /** Everything received so far, newlines normalized. */
  get text() {
    return this.source + normalizeNewlines(this.pending);
  }

  /**
   * Buffers a delta; the render happens on the next animation frame. After finish(), more text
   * continues the same answer (a stopped answer being continued).
   */
  push(text) {
    if (!text) return;
    if (this.finished) this.reopen();
    this.pending += text;
    if (!this.frame) this.frame = requestAnimationFrame(this.onFrame);
  }

  /**
   * Renders what is buffered right away instead of on the next frame. The page never needs
   * this (finish() calls it); benchmarks use it to time one frame's work.
   */
  flush() {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    const started = performance.now();
    this.takePending();
    this.render();
    this.stats.frames += 1;
    this.stats.lastFrameMs = performance.now() - started;
  }

  /**
   * The answer is complete (or stopped): renders the final text exactly as a one-shot render
   * would. Resolves once the last code blocks are highlighted.
   */
  finish() {
    if (!this.finished) {
      this.takePending(true);
      if (this.frame) cancelAnimationFrame(this.frame);
      this.frame = 0;
      this.finished = true;
      this.fence = null;
      const tail = this.source.slice(this.frozenLength);
      if (this.wholeDocument || topLevelBlocks(tail).references) {
        this.renderWhole(this.source);
        this.reopenAt = { length: 0, nodes: this.tailNodes };
        for (const code of this.element.querySelectorAll("pre > code")) {
          this.highlights.push(highlightWhenIdle(code));
        }
        drawDiagrams(this.element);
      } else {
        const length = this.frozenLength;
        const stale = this.tailNodes;
        this.tailNodes = [];
        const nodes = this.freeze(tail, stale);
        for (const node of stale) node.remove();
        this.reopenAt = { length, nodes };
      }
      this.tailNodes = [];
    }
    return Promise.all(this.highlights).then(() => undefined);
  }

  /** More text after finish(): the blocks of the final tail are open again. */
  reopen() {
    this.finished = false;
    this.frozenLength = this.reopenAt.length;
    this.tailNodes = this.reopenAt.nodes.filter((node) => node.parentNode === this.element);
    this.tailShown = null;
    this.reopenAt = null;
  }

  onFrame() {
    this.frame = 0;
    this.flush();
  }

  takePending(final = false) {
    let text = this.pending;
    // A "\r\n" split across two deltas must not become two line breaks.
    if (!final && text.endsWith("\r")) {
      this.pending = "\r";
      text = text.slice(0, -1);
    } else {
      this.pending = "";
    }
    this.source += normalizeNewlines(text);
  }

  render() {
    if (this.wholeDocument) {
      this.renderWhole(repairTail(this.source));
      return;
    }
    if (this.fence && this.growFence()) return;

    let tail = this.source.slice(this.frozenLength);
    // Decisions are made on complete lines only: "para\n#" is a heading after a paragraph, but
    // "para\n#x" is one paragraph.
    const complete = tail.slice(0, tail.lastIndexOf("\n") + 1);
    if (complete) {
      const { blocks, references } = topLevelBlocks(complete);
      if (references) {
        this.wholeDocument = true;
        this.renderWhole(repairTail(this.source));
        return;
      }
      const starts = lineStarts(complete);
      const last = blocks[blocks.length - 1];
      let cut = blocks.length > 1 ? starts[last.start] : 0;
      let openFence = null;
      if (last && last.type === "fence") {
        const closed =
          last.end - last.start > 1 &&
          closesFence(complete.slice(starts[last.end - 1], starts[last.end]), last.markup);
        if (closed) cut = starts[last.end];
        else openFence = last;
      }
      if (cut > 0) {
        this.freeze(tail.slice(0, cut));
        tail = tail.slice(cut);
      }
      if (openFence && OPENING_FENCE.test(complete.slice(starts[openFence.start]))) {
        this.openFence(tail, starts[openFence.start + 1] - cut, openFence.markup);
        return;
      }
    }
    this.renderTail(repairTail(dropBrokenSurrogate(tail)));
  }

  /**
   * Renders source[frozenLength:frozenLength+chunk.length] for good, in place of the tail's
   * first nodes, and returns the nodes that now show it.
   */
  freeze(chunk, tailNodes = this.tailNodes) {
    const fresh = Array.from(renderFragment(chunk).childNodes);
    // The tail on screen often shows this already (a paragraph that just ended, a code fence
    // that just closed); a node that comes out identical is kept, and with it the reader's
    // selection. The others take the place of their counterparts.
    const stale = tailNodes.splice(0, fresh.length);
    const after = tailNodes.length ? tailNodes[0] : null;
    const frozen = fresh.map((node, i) => {
      const old = stale[i];
      if (old === undefined) {
        this.element.insertBefore(node, after);
      } else if (node.isEqualNode(old)) {
        return old;
      } else {
        old.replaceWith(node);
      }
      return node;
    });
    this.frozenLength += chunk.length;
    this.settle(frozen);
    return frozen;
  }

  /**
   * Bookkeeping for nodes that now show finished blocks: their code gets highlighted, their
   * diagrams drawn.
   */
  settle(frozen) {
    this.tailShown = null;
    this.stats.freezes += 1;
    for (const node of frozen) {
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      drawDiagrams(node);
      const codes = node.matches("pre > code") ? [node] : node.querySelectorAll("pre > code");
      for (const code of codes) this.highlights.push(highlightWhenIdle(code));
    }
  }

  renderTail(text) {
    if (text === this.tailShown) return;
    const fragment = renderFragment(text);
    const nodes = Array.from(fragment.childNodes);
    const before = this.tailNodes.length ? this.tailNodes[0] : null;
    this.element.insertBefore(fragment, before);
    for (const node of this.tailNodes) node.remove();
    this.tailNodes = nodes;
    this.tailShown = text;
    this.stats.tailRenders += 1;
  }

  renderWhole(text) {
    const fragment = renderFragment(text);
    this.element.replaceChildren(fragment);
    this.frozenLength = 0;
    this.tailNodes = Array.from(this.element.childNodes);
    this.tailShown = null;
    this.stats.tailRenders += 1;
  }

  /**
   * The tail is a code fence whose content starts at tail[contentStart]: render its frame
   * (header, copy button, empty <code>) once, then only ever append code to it.
   */
  openFence(tail, contentStart, marker) {
    this.renderTail(tail.slice(0, contentStart));
    const code = this.tailNodes
      .find((node) => node.nodeType === Node.ELEMENT_NODE && node.querySelector("pre > code"))
      ?.querySelector("pre > code");
    if (!code) return;
    const start = this.frozenLength + contentStart;
    this.fence = { code, marker, start, text: null, appended: start, scanned: start };
    this.growFence();
  }

  /** Appends new code to the open fence; false once the fence has closed. */
  growFence() {
    const fence = this.fence;
    const source = this.source;
    const completeEnd = source.lastIndexOf("\n") + 1;
    // Look for the closing fence among the lines completed since the last frame.
    for (let at = fence.scanned; at < completeEnd; ) {
      const next = source.indexOf("\n", at) + 1;
      if (closesFence(source.slice(at, next - 1), fence.marker)) {
        this.appendCode(at);
        // What is on screen is the finished block when it holds exactly the code between the
        // fences: freeze it as it is, instead of rendering (and comparing) a long block again.
        const shown = fence.text ? fence.text.data : "";
        if (shown.length === at - fence.start && source.startsWith(shown, fence.start)) {
          const frozen = this.tailNodes;
          this.tailNodes = [];
          this.frozenLength = next;
          this.settle(frozen);
        }
        this.fence = null;
        return false;
      }
      at = next;
      fence.scanned = next;
    }
    // A partial last line that may yet become the closing fence is not code yet.
    const partial = source.slice(completeEnd);
    this.appendCode(/^ {0,3}[`~]*$/.test(partial) ? completeEnd : source.length);
    return true;
  }

  /** Appends source[appended:end] to the open fence's code. */
  appendCode(end) {
    const fence = this.fence;
    if (end > fence.appended && isHighSurrogate(this.source.charCodeAt(end - 1))) end -= 1;
    if (end <= fence.appended) return;
    const added = this.source.slice(fence.appended, end);
    if (fence.text) {
      fence.text.appendData(added);
    } else {
      fence.text = document.createTextNode(added);
      fence.code.append(fence.text);
    }
    fence.appended = end;
    this.tailShown = null;
    this.stats.fenceAppends += 1;
  }
}

/** Text without a trailing lone high surrogate (half an emoji that the next delta completes). */
function dropBrokenSurrogate(text) {
  return isHighSurrogate(text.charCodeAt(text.length - 1)) ? text.slice(0, -1) : text;
}

function isHighSurrogate(code) {
  return code >= 0xd800 && code <= 0xdbff;
}
