// What an answer shows before its text: the model's reasoning, in a block of its own above the
// answer, and the phase of an answer that has no text yet ("Waiting for the model… 3 s").
//
// The block is a <details>: open, following the newest reasoning, while the model thinks;
// closed once the answer's text begins, unless the reader chose otherwise (opened or closed it
// themselves) or is reading it right then. Its summary counts the seconds while the model
// thinks ("Thinking… 34 s") and says for how long it did afterwards ("Thought for 12 s"). The
// reasoning is markdown from the model, rendered by the same sanitizing renderer as answers.

import { element } from "./dom.js";
import { Part } from "./part.js";
import { StickToBottom } from "./scroll.js";

const HIDDEN = "Reasoning hidden by the provider";
const PHASES = { waiting: "Waiting for the model…", tool: "Running a tool…" };
// After this long with nothing from the model, the page says it still waits (silence.js).
export const SILENCE_MS = 5000;
export const STILL_WAITING = "Still waiting for the model…";

/** "34 s", "2 min 5 s", "3 min". */
export function duration(ms) {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

/** The summary of a block whose model is done thinking, from how long it thought (ms). */
export function thoughtLabel(ms) {
  if (ms == null) return "Reasoning";
  if (ms < 1000) return "Thought for a moment";
  return `Thought for ${duration(Math.round(ms / 1000) * 1000)}`;
}

/** "Thinking…" for the first second, then "Thinking… 34 s". */
function counting(label, ms) {
  return ms < 1000 ? label : `${label} ${duration(ms)}`;
}

/** Counts time from a moment the server gave (how long ago it was), calling back each second. */
class Clock {
  constructor(onTick) {
    this.onTick = onTick;
    this.since = null;
    this.timer = 0;
  }

  get running() {
    return this.since !== null;
  }

  get elapsed() {
    return this.since === null ? 0 : performance.now() - this.since;
  }

  /** Counts from `elapsedMs` ago (the server's `elapsed_ms` at receipt). */
  start(elapsedMs = 0) {
    this.since = performance.now() - elapsedMs;
    this.tick();
  }

  tick() {
    clearTimeout(this.timer);
    this.onTick(this.elapsed);
    // On the next whole second, so that the count never skips or repeats one.
    this.timer = setTimeout(() => this.tick(), 1000 - (this.elapsed % 1000) + 5);
  }

  /** Stops; returns how long it counted. */
  stop() {
    const elapsed = this.elapsed;
    clearTimeout(this.timer);
    this.since = null;
    return elapsed;
  }
}

/** "Waiting for the model… 3 s" or "Running a tool…", where the answer's text will be. */
export class PhaseLine {
  constructor() {
    this.element = element("p", "phase");
    this.element.setAttribute("role", "status");
    this.label = element("span", "phase-label");
    // The seconds are for the eye: a screen reader hears the phase once, not every second.
    this.time = element("span", "phase-time");
    this.time.setAttribute("aria-hidden", "true");
    this.element.append(this.label, this.time);
    this.element.hidden = true;
    this.phase = null;
    this.clock = new Clock((ms) => {
      // The label changes once (a screen reader hears it then); the seconds every second.
      const label = this.phase === "waiting" && ms >= SILENCE_MS ? STILL_WAITING : PHASES[this.phase];
      if (label && this.label.textContent !== label) this.label.textContent = label;
      this.time.textContent = ms < 1000 ? "" : duration(ms);
    });
  }

  /** Shows `phase` (waiting or tool), `elapsedMs` into it. */
  show(phase, elapsedMs = 0) {
    if (!PHASES[phase]) return this.hide();
    this.phase = phase;
    this.label.textContent = PHASES[phase];
    this.element.hidden = false;
    this.clock.start(elapsedMs);
  }

  hide() {
    this.phase = null;
    this.clock.stop();
    this.element.hidden = true;
  }
}

export class ReasoningBlock {
  /**
   * data: the stored message ({reasoning, reasoning_redacted, reasoning_ms}). place: where the
   * transcript scrolls, {keep(element, change), reading(element)} (StickToBottom's).
   */
  constructor(data, place) {
    this.place = place;
    this.redacted = Boolean(data.reasoning_redacted);
    this.ms = data.reasoning_ms ?? null; // how long the model thought, as the server measured
    this.thinking = false;
    this.chosen = false; // the reader opened or closed the block: it stays as they left it
    this.follower = null; // keeps the newest reasoning in view while the model thinks
    this.clock = new Clock((ms) => {
      this.summaryLabel.textContent = counting("Thinking…", ms);
    });
    this.build();
    this.part = new Part(data.reasoning || "", this.text);
    this.part.renderStored();
    this.update();
  }

  build() {
    const details = element("details", "reasoning");
    this.element = details;
    this.summary = element("summary");
    this.summaryLabel = element("span", "reasoning-label");
    this.summary.append(this.summaryLabel);
    // Clicks on the summary are the reader's (a keyboard's Enter and Space click it too); the
    // page opens and closes the block through `open`, which clicks nothing.
    this.summary.addEventListener("click", () => {
      this.chosen = true;
      if (!this.thinking) details.classList.remove("following");
    });
    this.scroller = element("div", "reasoning-scroll");
    this.scroller.addEventListener("scroll", () => {
      this.scroller.classList.toggle("scrolled", this.scroller.scrollTop > 0);
    }, { passive: true });
    this.text = element("div", "reasoning-text markdown");
    this.hiddenNote = element("p", "reasoning-hidden", HIDDEN);
    this.scroller.append(this.text, this.hiddenNote);
    details.append(this.summary, this.scroller);
  }

  /** Code points of reasoning received. */
  get held() {
    return this.part.held;
  }

  get shown() {
    return this.thinking || Boolean(this.part.text) || this.redacted;
  }

  update() {
    this.element.hidden = !this.shown;
    this.hiddenNote.hidden = !this.redacted;
    if (this.thinking) this.element.setAttribute("aria-busy", "true");
    else this.element.removeAttribute("aria-busy");
    if (!this.thinking) this.summaryLabel.textContent = thoughtLabel(this.ms);
  }

  /** The model is thinking, `elapsedMs` into it when the server says (else from now). */
  think(elapsedMs) {
    if (this.thinking) {
      if (elapsedMs != null) this.clock.start(elapsedMs);
      return;
    }
    this.thinking = true;
    this.openedAt = performance.now();
    if (!this.chosen) this.element.open = true;
    this.element.classList.add("following");
    this.update();
    this.clock.start(elapsedMs ?? 0);
    this.follower = new StickToBottom(this.scroller, { content: this.text, nearBottom: 24 });
  }

  /** A reasoning delta; false when reasoning is missing before it (the caller resumes). */
  apply(frame) {
    if (frame.redacted) this.redacted = true;
    const added = this.part.apply(frame.offset ?? this.held, frame.text || "");
    this.update();
    return added !== null;
  }

  /**
   * The model is done thinking (its text began, or a tool runs): the block closes, unless the
   * reader has scrolled up to it and reads it (it was open long enough to be read: a replay of
   * a whole answer opens and settles it at once).
   */
  settle() {
    if (!this.stopThinking()) return;
    if (this.chosen || !this.element.open) return;
    const readable = performance.now() - this.openedAt > 1000;
    if (readable && this.place.reading(this.element)) return;
    this.place.keep(this.element, () => {
      this.element.open = false;
      this.element.classList.remove("following");
    });
  }

  /** Stops the count; returns whether the model was thinking until now. */
  stopThinking() {
    if (!this.thinking) return false;
    const measured = this.clock.stop();
    this.ms ??= measured; // until the end frame says what the server measured
    this.thinking = false;
    this.follower?.destroy();
    this.follower = null;
    this.update();
    return true;
  }

  /**
   * The answer ended (its end frame). A complete answer's block closes; one stopped or cut
   * short while its model thought stays as it is, showing what it got to.
   */
  end(frame) {
    if (frame.status === "complete") this.settle();
    else this.stopThinking();
    if (frame.reasoning_ms !== undefined) this.ms = frame.reasoning_ms;
    const lost = this.part.keepStored(frame.reasoning_length);
    this.update();
    return lost;
  }

  finish() {
    return this.part.finish();
  }

  /** What a stored message says of this reasoning. */
  data() {
    return {
      reasoning: this.part.text,
      reasoning_redacted: this.redacted,
      reasoning_ms: this.ms,
    };
  }
}
