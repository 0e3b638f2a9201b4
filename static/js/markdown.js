// Markdown rendering for model output: safe (no raw HTML, no script, no auto-loaded images),
// and incremental while an answer streams.
//
//   const md = new StreamingMarkdown(element);
//   on each delta:   md.push(text)      // buffers; renders once per animation frame
//   on the end:      await md.finish()  // final render, equal to renderMarkdown(text)
//   stored message:  element.replaceChildren(renderMarkdown(text))
export { StreamingMarkdown } from "./markdown/stream.js";
export { renderMarkdown } from "./markdown/render.js";
