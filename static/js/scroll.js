// Stick-to-bottom scrolling for a streaming conversation.
//
// The view follows new content only while the reader is at the bottom. Scrolling up (even a
// little) lets go, and the view then stays exactly where the reader put it however much text
// arrives below; scrolling back to within `nearBottom` px of the bottom takes hold again. The
// rules look only at where scroll positions land: every scroll this controller makes moves its
// baseline first, so its own scroll events read as no movement and only the reader's (or a
// browser clamp) can look like one.
//
//   const stick = new StickToBottom(scroller, { content, onChange: ({ attached }) => … });
//   jumpButton.hidden = stick.attached;  jumpButton.onclick = () => stick.jumpToLatest();

const AT_BOTTOM_EPS = 2;

export class StickToBottom {
  /**
   * scroller: the element with overflow-y: auto. content: the element that grows (defaults to
   * the scroller's first child). onChange({attached, distanceFromBottom}) runs when `attached`
   * changes.
   */
  constructor(scroller, { content = scroller.firstElementChild, nearBottom = 70, onChange } = {}) {
    this.scroller = scroller;
    this.content = content;
    this.nearBottom = nearBottom;
    this.onChange = onChange;
    this.isAttached = true;
    this.lastTop = this.top();
    this.lastMax = this.maxTop();

    this.onScroll = this.onScroll.bind(this);
    this.onWheel = this.onWheel.bind(this);
    scroller.addEventListener("scroll", this.onScroll, { passive: true });
    scroller.addEventListener("wheel", this.onWheel, { passive: true });
    this.resizeObserver = new ResizeObserver(() => this.follow());
    this.resizeObserver.observe(scroller);
    if (content) this.resizeObserver.observe(content);
    this.applyOverflowAnchor();
    this.write(this.maxTop());
  }

  /** True while new content keeps the view at the bottom. */
  get attached() {
    return this.isAttached;
  }

  get state() {
    return { attached: this.isAttached, distanceFromBottom: this.maxTop() - this.top() };
  }

  /** Scrolls to the newest content and follows it again (the "jump to latest" button). */
  jumpToLatest() {
    this.setAttached(true);
    this.write(this.maxTop());
  }

  /**
   * Runs `change()`, which resizes `element` (a block closing), without moving what the reader
   * looks at: at the bottom the view stays at the bottom; up in the text, what is in view stays
   * where it is on screen. That is the element's top when the element is in view or below it
   * (what is above does not move), and its bottom when it is above the view (what follows it,
   * in view, does not move).
   */
  keep(element, change) {
    if (this.isAttached) {
      change();
      this.write(this.maxTop());
      return;
    }
    const view = this.scroller.getBoundingClientRect();
    const edge = element.getBoundingClientRect().bottom <= view.top ? "bottom" : "top";
    const before = element.getBoundingClientRect()[edge];
    change();
    // The browser's scroll anchoring may have made up for it already: then nothing moved.
    const moved = element.getBoundingClientRect()[edge] - before;
    if (Math.abs(moved) >= 0.5) this.write(this.top() + moved);
  }

  /** Whether the reader, scrolled up from the bottom, has some of `element` in view. */
  reading(element) {
    if (this.isAttached) return false;
    const view = this.scroller.getBoundingClientRect();
    const box = element.getBoundingClientRect();
    return box.bottom > view.top && box.top < view.bottom;
  }

  destroy() {
    this.scroller.removeEventListener("scroll", this.onScroll);
    this.scroller.removeEventListener("wheel", this.onWheel);
    this.resizeObserver.disconnect();
    this.scroller.style.overflowAnchor = "";
  }

  maxTop() {
    return Math.max(0, this.scroller.scrollHeight - this.scroller.clientHeight);
  }

  top() {
    return Math.min(Math.max(this.scroller.scrollTop, 0), this.maxTop());
  }

  write(top) {
    this.scroller.scrollTop = top;
    this.lastTop = this.top();
    this.lastMax = this.maxTop();
  }

  setAttached(attached) {
    if (attached === this.isAttached) return;
    this.isAttached = attached;
    this.applyOverflowAnchor();
    this.onChange?.(this.state);
  }

  // While following, the browser's scroll anchoring would only fight our writes; while the
  // reader is up in the text it keeps their place if something above them changes size.
  applyOverflowAnchor() {
    this.scroller.style.overflowAnchor = this.isAttached ? "none" : "auto";
  }

  // Growth is followed from the ResizeObserver callback, after layout and before paint, so the
  // new text is never painted below the fold first. A reader's scroll in the same frame has had
  // its scroll event dispatched earlier in that frame (and so has already let go).
  follow() {
    if (this.isAttached) this.write(this.maxTop());
  }

  onWheel(event) {
    // An upward wheel is the reader's intent even before any scroll event (or when there is
    // nothing to scroll yet).
    if (event.deltaY < 0 && !event.ctrlKey && this.isAttached && this.top() > 0) {
      this.setAttached(false);
    }
  }

  // Scrolled down to where the bottom was at the last scroll: the reader went to the end.
  // Streamed text may have grown it since (a slow machine lays out many lines between two
  // scroll events), which must not leave the reader let go at the very bottom.
  reached(top) {
    return top >= this.lastMax - this.nearBottom;
  }

  onScroll() {
    const max = this.maxTop();
    const top = this.top();
    const distance = max - top;
    // Content got shorter and the browser clamped the view to the new bottom: nothing is left
    // below to read, so following is the only sensible state.
    const clamped = distance <= AT_BOTTOM_EPS && max < this.lastMax && this.lastTop > max;
    if (clamped) {
      this.setAttached(true);
    } else if (top < this.lastTop - 0.5) {
      this.setAttached(false);
    } else if (top > this.lastTop && (distance <= this.nearBottom || this.reached(top))) {
      this.setAttached(true);
      this.follow();
    }
    this.lastTop = top;
    this.lastMax = max;
  }
}
