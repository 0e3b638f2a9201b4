// Inside the diagram frame (diagram-frame.html): draws Mermaid source sent by diagrams.js and
// posts back the SVG as text, or a short error. The page sanitizes what comes back; the
// sandbox and this frame's policy (no network but its own scripts) hold if Mermaid itself is
// ever tricked while it draws.
"use strict";

(() => {
  const mermaid = globalThis.mermaid;
  let theme = null;
  let count = 0;
  let queue = Promise.resolve();

  function configure(wanted) {
    if (wanted === theme) return;
    theme = wanted;
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict", // no click handlers, labels are text, no links to scripts
      theme,
      htmlLabels: false, // SVG <text>, not HTML in <foreignObject>
      flowchart: { htmlLabels: false },
      maxTextSize: 20000,
      maxEdges: 500,
      suppressErrorRendering: true,
      logLevel: "fatal",
    });
  }

  async function draw({ id, text, dark }) {
    configure(dark ? "dark" : "default");
    count += 1;
    try {
      const { svg } = await mermaid.render(`mermaid-${count}`, text);
      parent.postMessage({ id, svg }, "*");
    } catch (error) {
      const message = String(error?.message || error).split("\n")[0].slice(0, 200);
      parent.postMessage({ id, error: message || "not a diagram Mermaid can draw" }, "*");
    }
  }

  addEventListener("message", (event) => {
    if (event.source !== parent || typeof event.data?.text !== "string") return;
    queue = queue.then(() => draw(event.data));
  });
  parent.postMessage({ ready: true }, "*");
})();
