// The chat page: the transcript, the composer, and frames from the server.

import { Connection } from "./connection.js";
import { accept, codePointLength } from "./offsets.js";

const page = JSON.parse(document.getElementById("page-data").textContent);
const transcript = document.getElementById("transcript");
const composer = document.getElementById("composer");
const content = composer.elements.content;
const stopButton = composer.elements.stop;
const connectionNote = document.getElementById("connection");

// message id -> {element, body, held (code points), status}
const messages = new Map();
let conversationId = page.conversation;

function metaLine(m) {
  const parts = [m.model];
  if (m.ttft_ms != null) parts.push(`${m.ttft_ms} ms to first token`);
  if (m.tokens_per_second != null) parts.push(`${m.tokens_per_second} tokens/s`);
  if (m.output_tokens != null) parts.push(`${m.output_tokens} tokens`);
  return parts.filter(Boolean).join(" · ");
}

function addMessage({ id, role, text = "", status = "complete", model = "" }) {
  let entry = messages.get(id);
  if (entry) return entry;
  const element = document.createElement("article");
  element.className = `message ${role}`;
  element.dataset.messageId = id;
  element.dataset.role = role;
  element.dataset.status = status;
  const body = document.createElement("div");
  body.className = "body";
  body.textContent = text;
  const meta = document.createElement("p");
  meta.className = "meta";
  meta.textContent = model;
  const error = document.createElement("p");
  error.className = "error";
  error.hidden = true;
  element.append(body, error, meta);
  transcript.append(element);
  entry = { element, body, meta, error, held: codePointLength(text), status, model };
  messages.set(id, entry);
  return entry;
}

function setStatus(entry, status) {
  entry.status = status;
  entry.element.dataset.status = status;
  const streaming = [...messages.values()].some((m) => m.status === "streaming");
  stopButton.hidden = !streaming;
}

const handlers = {
  "message.start"(f) {
    if (f.conversation && conversationId !== f.conversation) {
      conversationId = f.conversation;
      history.replaceState(null, "", `/c/${f.conversation}/`);
    }
    if (f.user_message && !messages.has(f.user_message) && pendingUserText !== null) {
      addMessage({ id: f.user_message, role: "user", text: pendingUserText });
      pendingUserText = null;
    }
    const entry = addMessage({ id: f.message, role: "assistant", model: f.model });
    setStatus(entry, "streaming");
  },
  delta(f) {
    const entry = messages.get(f.message) || addMessage({ id: f.message, role: "assistant" });
    const verdict = accept(entry.held, f.offset, f.text);
    if (verdict.gap) {
      connection.send({ type: "resume", message: f.message, offset: entry.held });
      return;
    }
    if (verdict.append) {
      entry.body.append(verdict.append);
      entry.held += codePointLength(verdict.append);
    }
  },
  "message.end"(f) {
    const entry = messages.get(f.message);
    if (!entry) return;
    setStatus(entry, f.status);
    entry.meta.textContent = metaLine({
      model: entry.model,
      ttft_ms: f.ttft_ms,
      tokens_per_second: f.tokens_per_second,
      output_tokens: f.usage?.output_tokens,
    });
    if (f.error) {
      entry.error.textContent = f.error;
      entry.error.hidden = false;
    }
  },
  error(f) {
    connectionNote.textContent = f.detail;
    connectionNote.hidden = false;
  },
};

const connection = new Connection({
  onFrame: (frame) => handlers[frame.type]?.(frame),
  onState: (state) => {
    connectionNote.textContent = state === "reconnecting" ? "Reconnecting…" : "";
    connectionNote.hidden = state !== "reconnecting";
  },
  resumeList: () =>
    [...messages.entries()]
      .filter(([, m]) => m.status === "streaming")
      .map(([id, m]) => ({ message: id, offset: m.held })),
});

for (const m of page.messages) {
  const entry = addMessage(m);
  if (m.status === "complete" || m.role !== "assistant") entry.meta.textContent = metaLine(m);
  if (m.error) {
    entry.error.textContent = m.error;
    entry.error.hidden = false;
  }
  // An answer still being written: join it where the page left off.
  if (m.status === "streaming" || m.status === "pending") {
    setStatus(entry, "streaming");
    connection.send({ type: "resume", message: m.id, offset: entry.held });
  }
}

let pendingUserText = null;

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = content.value;
  if (!text.trim()) return;
  pendingUserText = text;
  connection.send({
    type: "send",
    conversation: conversationId,
    content: text,
    model: composer.elements.model.value,
  });
  content.value = "";
});

content.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  }
});

stopButton.addEventListener("click", () => {
  for (const [id, m] of messages) if (m.status === "streaming") connection.send({ type: "stop", message: id });
});
