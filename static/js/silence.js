// A live answer whose model has gone quiet mid-answer says so: "Still waiting for the model…
// 12 s", from SILENCE_MS after the last frame the page got for it, counting from that frame;
// gone with the next one. Before the text, the phase line says it instead (reasoning.js), and
// while the model thinks or runs a tool their own counters do. The page needs no word from the
// server for it: every delta is a sign of life, and the server sends none without one.

import { element } from "./dom.js";
import { duration, SILENCE_MS, STILL_WAITING } from "./reasoning.js";

export class SilenceNotice {
  /** `telling()`: whether silence is worth a word now (the answer is live and writing). */
  constructor(telling) {
    this.telling = telling;
    this.element = element("p", "silence");
    this.element.setAttribute("role", "status");
    this.label = element("span", "phase-label");
    this.time = element("span", "phase-time");
    this.time.setAttribute("aria-hidden", "true"); // the seconds are for the eye
    this.element.append(this.label, this.time);
    this.element.hidden = true;
    this.last = null;
    this.timer = 0;
  }

  /** A frame for the answer came: the model is not silent. */
  heard() {
    this.last = performance.now();
    this.hide();
    this.wake(SILENCE_MS);
  }

  /** The answer ended: no more waiting. */
  stop() {
    this.last = null;
    clearTimeout(this.timer);
    this.hide();
  }

  wake(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
  }

  tick() {
    if (this.last === null) return;
    const silent = performance.now() - this.last;
    if (!this.telling()) {
      this.hide();
    } else {
      if (this.element.hidden) {
        this.label.textContent = STILL_WAITING;
        this.element.hidden = false;
      }
      this.time.textContent = duration(silent);
    }
    // On the next whole second of silence, so that the count never skips or repeats one.
    this.wake(1000 - (silent % 1000) + 5);
  }

  hide() {
    this.element.hidden = true;
  }
}
