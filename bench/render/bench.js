// Replays a markdown answer in fixed-size steps through our renderer and through a naive
// whole-document re-render + innerHTML, timing each step's render work (layout included).
import DOMPurify from "/static/vendor/purify.js";
import { StreamingMarkdown } from "/static/js/markdown.js";
import { md } from "/static/js/markdown/parser.js";

const stage = document.getElementById("stage");
const longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    longTasks.push({ start: entry.startTime, duration: entry.duration });
  }
}).observe({ type: "longtask" });

// Each step is its own task, so the long-task observer sees each step's work separately.
const nextTask = () =>
  new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function collectLongTasks(from, to) {
  await sleep(100); // long-task entries are delivered after the task
  const inside = longTasks.filter((task) => task.start >= from && task.start <= to);
  return {
    count: inside.length,
    totalMs: inside.reduce((sum, task) => sum + task.duration, 0),
    maxMs: inside.reduce((max, task) => Math.max(max, task.duration), 0),
  };
}

async function ours(text, step) {
  stage.replaceChildren();
  const renderer = new StreamingMarkdown(stage);
  const samples = [];
  const from = performance.now();
  for (let at = 0; at < text.length; at += step) {
    renderer.push(text.slice(at, at + step));
    const started = performance.now();
    renderer.flush();
    void stage.offsetHeight;
    samples.push(performance.now() - started);
    await nextTask();
  }
  const started = performance.now();
  const highlighted = renderer.finish();
  void stage.offsetHeight;
  const finishMs = performance.now() - started;
  await highlighted;
  const to = performance.now();
  return { samples, finishMs, longTasks: await collectLongTasks(from, to), stats: renderer.stats };
}

async function naive(text, step, stride) {
  stage.replaceChildren();
  const samples = [];
  const from = performance.now();
  let index = 0;
  for (let at = step; at < text.length + step; at += step, index += 1) {
    if (index % stride !== 0) continue;
    const started = performance.now();
    stage.innerHTML = DOMPurify.sanitize(md.render(text.slice(0, at)));
    void stage.offsetHeight;
    samples.push(performance.now() - started);
    await nextTask();
  }
  const to = performance.now();
  return { samples, longTasks: await collectLongTasks(from, to) };
}

window.bench = {
  async run(text, { step = 64, naiveStride = 1 } = {}) {
    const result = { ours: await ours(text, step) };
    await sleep(50);
    result.naive = await naive(text, step, naiveStride);
    stage.replaceChildren();
    return result;
  },
};
document.body.dataset.ready = "yes";
