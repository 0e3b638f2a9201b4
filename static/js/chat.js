// The chat page: wires the transcript, the composer, the sidebar and the scroller to the
// WebSocket, and keeps track of what the server has yet to answer.

import { Composer } from "./composer.js";
import { Connection } from "./connection.js";
import { StickToBottom } from "./scroll.js";
import { Sidebar } from "./sidebar.js";
import { anyStreaming, store } from "./store.js";
import { Transcript } from "./transcript.js";
import { urlFor } from "./urls.js";

const page = JSON.parse(document.getElementById("page-data").textContent);
store.conversation = page.conversation;

const app = document.getElementById("app");
const scroller = document.getElementById("transcript");
const jump = document.getElementById("jump");
const connectionNote = document.getElementById("connection");
const notice = document.getElementById("notice");
const topbarTitle = document.getElementById("topbar-title");

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

// Requests the server has not answered yet, oldest first. The server handles one socket's
// frames in order, so an error frame (which names no request) answers the oldest one; an
// answer's message.start answers the request it matches.
const waiting = [];

function request(entry) {
  waiting.push(entry);
}

function answered(frame) {
  const index = waiting.findIndex((entry) => entry.matches(frame));
  if (index >= 0) waiting.splice(index, 1);
}

function refused(frame) {
  const entry = waiting.shift();
  entry?.undo();
  showNotice(frame.detail || "The server refused that.");
}

let connection = null;
const send = (frame) => connection.send(frame);

const transcript = new Transcript(document.getElementById("messages"), {
  send,
  request,
  onChange: () => composer.setStreaming(anyStreaming()),
});

const composer = new Composer(document.getElementById("composer"), {
  onSend: sendMessage,
  onStop: stopAll,
  onError: showNotice,
});

const csrfInput = document.querySelector("#logout input[name=csrfmiddlewaretoken]");
const sidebar = new Sidebar({
  app,
  nav: document.getElementById("sidebar"),
  list: document.getElementById("conversation-list"),
  search: document.getElementById("search"),
  openButton: document.getElementById("sidebar-open"),
  closeButton: document.getElementById("sidebar-close"),
  scrim: document.getElementById("scrim"),
  urls: page.urls,
  csrfToken: csrfInput ? csrfInput.value : "",
  current: store.conversation,
  conversations: page.conversations,
  onRenamed: setTitle,
});

const stick = new StickToBottom(scroller, {
  content: document.getElementById("messages"),
  onChange: ({ attached }) => {
    jump.hidden = attached;
  },
});
jump.addEventListener("click", () => {
  stick.jumpToLatest();
  composer.focus();
});

function setTitle(title) {
  document.title = title;
  topbarTitle.textContent = title;
}

function sendMessage({ content, models }) {
  showNotice("");
  transcript.showPending(content);
  composer.setSending(true);
  stick.jumpToLatest();
  const frame = { type: "send", conversation: store.conversation, content, tools: composer.tools() };
  if (models.length > 1) frame.models = models;
  else frame.model = models[0];
  request({
    kind: "send",
    // The first answer to a message the page has not seen before answers this send.
    matches: (f) => f.reply_to != null && !store.messages.has(f.reply_to),
    undo: () => {
      transcript.dropPending();
      composer.setSending(false);
      composer.restore(content);
    },
  });
  send(frame);
}

function stopAll() {
  for (const [id, view] of store.messages) {
    if (view.live) send({ type: "stop", message: id });
  }
}

function started(frame) {
  if (frame.conversation && store.conversation !== frame.conversation) {
    store.conversation = frame.conversation;
    history.replaceState(null, "", urlFor(page.urls.conversation, frame.conversation));
    setTitle(frame.title);
    sidebar.touch({ id: frame.conversation, title: frame.title });
  } else if (frame.conversation && frame.offset === 0 && !store.messages.has(frame.message)) {
    sidebar.touch({ id: frame.conversation, title: frame.title });
  }
  answered(frame);
  transcript.start(frame);
  composer.setSending(waiting.some((entry) => entry.kind === "send"));
}

const handlers = {
  "message.start": started,
  delta(frame) {
    const resume = transcript.delta(frame);
    if (resume) send(resume);
  },
  "tool.call": (frame) => transcript.toolCall(frame),
  "message.end": (frame) => transcript.end(frame),
  error(frame) {
    if (frame.message) {
      transcript.fail(frame);
    } else if (frame.code === "not_streaming") {
      // A stop that crossed the answer's end: nothing to do.
    } else {
      refused(frame);
      composer.setSending(waiting.some((entry) => entry.kind === "send"));
    }
  },
};

connection = new Connection({
  path: page.urls.socket,
  onFrame: (frame) => handlers[frame.type]?.(frame),
  onState: (state) => {
    const reconnecting = state === "reconnecting";
    connectionNote.textContent = reconnecting ? "Reconnecting…" : "";
    connectionNote.hidden = !reconnecting;
    app.classList.toggle("offline", reconnecting);
  },
  resumeList: () => transcript.resumeFrames(),
});

// Join every answer that was still being written when the page was made, from where the
// page's copy of it ends.
for (const view of transcript.load(page.messages)) {
  view.resuming = true;
  request({ kind: "resume", matches: (f) => f.message === view.id, undo: () => {} });
  send({ type: "resume", message: view.id, offset: view.held });
}
composer.setStreaming(anyStreaming());

// The textarea comes disabled from the server: until now, a message typed would go nowhere.
composer.enable();
app.dataset.ready = "true";
