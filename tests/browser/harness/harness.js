// Test harness: drives the renderer and the scroll controller for tests/browser/*.py.
import { StreamingMarkdown, renderMarkdown } from "/static/js/markdown.js";
import { StickToBottom } from "/static/js/scroll.js";

const content = document.getElementById("content");
const scroller = document.getElementById("scroller");
const jump = document.getElementById("jump");

window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});

// A small seeded generator, so a failing chunking can be replayed from its seed.
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

let renderer = null;
let stick = null;

window.harness = {
  oneShot(text) {
    const target = document.getElementById("oneshot");
    target.replaceChildren(renderMarkdown(text));
    return target.innerHTML;
  },

  start() {
    content.replaceChildren();
    renderer = new StreamingMarkdown(content);
    return true;
  },

  /** A renderer over #content as it is (e.g. showing a stored render). */
  adopt() {
    renderer = new StreamingMarkdown(content);
    return true;
  },

  push(text) {
    renderer.push(text);
    return renderer.stats.frames;
  },

  async frames(count = 2) {
    for (let i = 0; i < count; i += 1) await nextFrame();
    return renderer.stats;
  },

  async finish() {
    await renderer.finish();
    return content.innerHTML;
  },

  stats() {
    return { ...renderer.stats, wholeDocument: renderer.wholeDocument };
  },

  html() {
    return content.innerHTML;
  },

  /**
   * Streams `text` in random chunks of minChunk..maxChunk UTF-16 units (so surrogate pairs
   * get split), 1..maxChunksPerFrame chunks per animation frame; returns the final innerHTML.
   */
  async stream(text, { seed = 1, minChunk = 1, maxChunk = 40, maxChunksPerFrame = 8 } = {}) {
    const rand = random(seed);
    this.start();
    let at = 0;
    while (at < text.length) {
      const chunks = 1 + Math.floor(rand() * maxChunksPerFrame);
      for (let i = 0; i < chunks && at < text.length; i += 1) {
        const size = minChunk + Math.floor(rand() * (maxChunk - minChunk + 1));
        renderer.push(text.slice(at, at + size));
        at += size;
      }
      await nextFrame();
    }
    await renderer.finish();
    return { html: content.innerHTML, stats: this.stats() };
  },

  /** Starts streaming `text` at `perFrame` characters a frame and returns at once. */
  feed(text, perFrame = 30) {
    this.start();
    window.__feeding = true;
    (async () => {
      for (let at = 0; at < text.length; at += perFrame) {
        renderer.push(text.slice(at, at + perFrame));
        await nextFrame();
      }
      await renderer.finish();
      window.__feeding = false;
    })();
    return true;
  },

  scroll: {
    attach() {
      stick?.destroy();
      jump.hidden = true;
      stick = new StickToBottom(scroller, {
        content,
        onChange: ({ attached }) => {
          jump.hidden = attached;
        },
      });
      return stick.attached;
    },
    state() {
      return {
        attached: stick.attached,
        jumpShown: !jump.hidden,
        scrollTop: scroller.scrollTop,
        distance: scroller.scrollHeight - scroller.clientHeight - scroller.scrollTop,
        scrollHeight: scroller.scrollHeight,
      };
    },
    jumpToLatest() {
      stick.jumpToLatest();
    },
  },
};
document.body.dataset.ready = "yes";
