// The chat page: wires the transcript, the composer, the sidebar and the scroller to the
// protocol and the WebSocket, and follows the conversation the server names.

import { setAttachmentAddress } from "./attached.js";
import { AttachmentTray } from "./attachments.js";
import { copyWithFeedback } from "./clipboard.js";
import { Composer } from "./composer.js";
import { Connection } from "./connection.js";
import { conversationMarkdown } from "./conversation-markdown.js";
import { takeFiles } from "./file-input.js";
import { setProviderLabels } from "./message.js";
import { PresetList } from "./presets.js";
import { Protocol } from "./protocol.js";
import { StickToBottom } from "./scroll.js";
import { SettingsPanel } from "./settings.js";
import { Shortcuts } from "./shortcuts.js";
import { Sidebar } from "./sidebar.js";
import { anyStreaming, store } from "./store.js";
import { Transcript } from "./transcript.js";
import { urlFor } from "./urls.js";

const page = JSON.parse(document.getElementById("page-data").textContent);
store.conversation = page.conversation;
setProviderLabels(page.provider_labels);
setAttachmentAddress(page.urls.attachment);

const app = document.getElementById("app");
const scroller = document.getElementById("transcript");
const jump = document.getElementById("jump");
const connectionNote = document.getElementById("connection");
const notice = document.getElementById("notice");
const topbarTitle = document.getElementById("topbar-title");
const announcer = document.getElementById("announce");

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

const transcript = new Transcript(document.getElementById("messages"), {
  actions: {
    regenerate: (view) => protocol.regenerate(view),
    continueAnswer: (view) => protocol.continueAnswer(view),
    selectVersion: (view, step) => protocol.selectVersion(view, step),
    edit: editMessage,
    keepAnswer: (view) => protocol.keep(view),
    fork: forkFrom,
    keep: (element, change) => stick.keep(element, change),
    reading: (element) => stick.reading(element),
  },
  onChange: () => composer.setStreaming(anyStreaming()),
});

const protocol = new Protocol({
  transcript,
  send: (frame) => connection.send(frame),
  onStart: followConversation,
  onSending: (sending) => composer.setSending(sending),
  onRefused: (frame) => {
    showNotice(frame.detail || "The server refused that.");
    if (frame.code === "bad_settings") settingsPanel.refused(frame);
  },
  onBranch: (frame, entry) => {
    composer.setStreaming(anyStreaming());
    if (entry?.kind === "edit") {
      stick.jumpToLatest();
      composer.focus();
    } else if (entry?.kind === "branch") {
      // The chosen version, where the one switched from was, and the keyboard still on "‹ ›".
      const view = store.messages.get(entry.target);
      if (!view) return;
      view.element.scrollIntoView({ block: "nearest" });
      const [towards, back] = [view.previousButton, view.nextButton];
      const step = entry.step < 0 ? [towards, back] : [back, towards];
      (step.find((node) => !node.disabled) || composer).focus();
    }
  },
  onTitle: (frame) => {
    // The model named the conversation after its first answer.
    sidebar.retitle(frame.conversation, frame.title);
    if (frame.conversation === store.conversation) setTitle(frame.title);
  },
  onTold: toldByAnotherTab,
});

const csrfInput = document.querySelector("#logout input[name=csrfmiddlewaretoken]");
const csrfToken = csrfInput ? csrfInput.value : "";

const composerForm = document.getElementById("composer");
const attachments = new AttachmentTray(document.getElementById("attachment-tray"), {
  uploadTo: { url: page.urls.attachments, csrfToken },
  limits: page.attachment_limits,
  textbox: composerForm.elements.content,
  onChange: () => composer.update(),
  onProblem: showNotice,
});
const composer = new Composer(composerForm, {
  reasoningEffort: page.reasoning_effort,
  reasoningModels: page.reasoning_models,
  attachments,
  capabilities: page.capabilities,
  onSend: sendMessage,
  onStop: () => protocol.stopAll(),
  onError: showNotice,
});
takeFiles({
  button: composerForm.elements.attach,
  picker: composerForm.elements.files,
  textbox: composerForm.elements.content,
  dropTarget: document.getElementById("drop-target"),
  pasteAsFileChars: page.attachment_limits?.paste_as_file_chars,
  accepting: () => !composer.closed,
  onFiles: (files) => {
    showNotice("");
    attachments.add(files);
  },
});
const settingsPanel = new SettingsPanel({
  dialog: document.getElementById("settings"),
  form: document.getElementById("settings-form"),
  openButton: document.getElementById("settings-open"),
  composer,
  settings: page.settings,
  defaults: page.settings_defaults,
  conversation: () => store.conversation,
  url: page.urls.settings,
  csrfToken,
  presets: new PresetList({
    presets: page.presets,
    url: page.urls.presets,
    itemUrl: page.urls.preset,
    csrfToken,
  }),
});

const sidebar = new Sidebar({
  app,
  nav: document.getElementById("sidebar"),
  list: document.getElementById("conversation-list"),
  search: document.getElementById("search"),
  openButton: document.getElementById("sidebar-open"),
  closeButton: document.getElementById("sidebar-close"),
  scrim: document.getElementById("scrim"),
  urls: page.urls,
  csrfToken,
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

/** Says `text` to assistive technology (the polite status line), without showing it. */
function announce(text) {
  announcer.textContent = "";
  requestAnimationFrame(() => {
    announcer.textContent = text;
  });
}

/** The newest answer that has ended, the last on screen (the rightmost of a comparison). */
function lastAnswer() {
  const answers = [...document.querySelectorAll("#messages [data-role=assistant]")];
  for (const element of answers.reverse()) {
    const view = store.messages.get(Number(element.dataset.messageId));
    if (view && !view.live && view.text) return view;
  }
  return null;
}

new Shortcuts({
  dialog: document.getElementById("shortcuts"),
  actions: {
    newChat: () => location.assign(page.urls.home),
    focusComposer: () => {
      if (sidebar.isOpen) sidebar.close();
      composer.focus();
    },
    search: () => sidebar.focusSearch(),
    copyLastAnswer: async () => {
      const view = lastAnswer();
      if (!view) {
        announce("There is no answer to copy yet.");
        return;
      }
      await copyWithFeedback(view.copyButton, view.text);
      announce(view.copyButton.textContent === "Copied" ? "Copied the last answer." : "Copy failed.");
    },
  },
});
document.getElementById("shortcuts-open").addEventListener("click", () => {
  document.getElementById("shortcuts").showModal();
});
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  if (sidebar.isOpen) sidebar.close();
  composer.focus();
});

// "Copy chat" (in the top bar on a phone, over the conversation's corner elsewhere): the
// branch shown as markdown; offered once there is a message to copy.
const messagesBox = document.getElementById("messages");
const copyButtons = [...document.querySelectorAll(".copy-conversation")];
for (const copy of copyButtons) {
  copy.addEventListener("click", () => {
    const title = store.conversation === null ? "" : topbarTitle.textContent;
    copyWithFeedback(copy, conversationMarkdown(messagesBox, title));
  });
}
function offerCopy() {
  const none = !messagesBox.querySelector(".message[data-message-id]");
  for (const copy of copyButtons) copy.hidden = none;
}
new MutationObserver(offerCopy).observe(messagesBox, { childList: true, subtree: true });
offerCopy();

function setTitle(title) {
  document.title = title;
  topbarTitle.textContent = title;
}

/** `files`: the composer's, taken out of it (AttachmentTray.take), put back if refused. */
function sendMessage({ content, models, attachments: files }) {
  showNotice("");
  const message = {
    content,
    models,
    attachments: files.map((item) => item.data),
    tools: composer.tools(),
    reasoningEffort: composer.reasoningEffort(),
    settings: settingsPanel.newChatSettings(),
  };
  protocol.sendMessage(message, () => composer.restore(content, files));
  stick.jumpToLatest();
}

/**
 * Sends the user's message `view` again as `content`, a new branch, to the composer's model,
 * with the files `files` (undefined: the same as before).
 */
function editMessage(view, content, files) {
  showNotice("");
  const model = composer.settings().model;
  const images = (files ?? view.attachments).some((file) => file.kind === "image");
  const problem = images ? composer.imagesProblem([model]) : "";
  if (problem) {
    showNotice(problem);
    view.editRefused();
    return;
  }
  protocol.edit(view, content, model, files, () => view.editRefused());
}

const DRAFT_KEY = "streamchat:draft:";

/**
 * A new chat made of this conversation up to `view` (the server copies it), opened in its
 * place; forking from one of the user's messages puts its text in the new chat's composer.
 */
async function forkFrom(view) {
  showNotice("");
  view.setBusy(true);
  try {
    const response = await fetch(urlFor(page.urls.fork, view.id), {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || "This chat could not be forked.");
    try {
      if (data.draft) sessionStorage.setItem(DRAFT_KEY + data.conversation, data.draft);
    } catch {
      // Storage may be off: the new chat opens without the text.
    }
    location.assign(data.url);
  } catch (error) {
    view.setBusy(false);
    showNotice(error.message || "This chat could not be forked.");
  }
}

/** The text a fork left for this conversation's composer, once. */
function takeDraft() {
  try {
    const key = DRAFT_KEY + store.conversation;
    const draft = sessionStorage.getItem(key);
    sessionStorage.removeItem(key);
    if (draft) composer.restore(draft);
  } catch {
    // No storage, no draft.
  }
}

/**
 * An answer starts: the page follows its conversation (a new chat gets the address and the
 * title the server gave it) and the sidebar moves that conversation to the top.
 */
function followConversation(frame) {
  if (frame.conversation && store.conversation !== frame.conversation) {
    store.conversation = frame.conversation;
    settingsPanel.started();
    history.replaceState(null, "", urlFor(page.urls.conversation, frame.conversation));
    setTitle(frame.title);
    sidebar.touch({ id: frame.conversation, title: frame.title });
  } else if (frame.conversation && frame.offset === 0 && !store.messages.has(frame.message)) {
    sidebar.touch({ id: frame.conversation, title: frame.title });
  }
}

/** What another of the user's tabs did, shown here too. */
function toldByAnotherTab(frame) {
  const id = frame.conversation;
  const shown = id === store.conversation;
  switch (frame.type) {
    case "conversation.created":
      sidebar.add({ id, title: frame.title, updated_at: frame.updated_at });
      break;
    case "conversation.message":
      sidebar.touch({ id, title: frame.title }, { current: shown });
      break;
    case "conversation.renamed":
      sidebar.retitle(id, frame.title);
      if (shown) setTitle(frame.title);
      break;
    case "conversation.deleted":
      sidebar.remove(id);
      if (shown && !sidebar.deletedHere(id)) showDeleted();
      break;
    case "conversation.branch":
      if (shown) reloadConversation(id);
      break;
  }
}

/** The conversation shown was deleted in another tab: nothing more can be sent to it. */
function showDeleted() {
  const newChat = document.createElement("a");
  newChat.href = page.urls.home;
  newChat.textContent = "Start a new chat";
  notice.replaceChildren("This chat was deleted in another tab. ", newChat);
  notice.hidden = false;
  composer.disable();
}

/** Another branch was chosen in another tab: the conversation's messages, read again. */
async function reloadConversation(id) {
  try {
    const response = await fetch(urlFor(page.urls.conversation, id), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`${response.status}`);
    const data = await response.json();
    if (data.conversation !== store.conversation) return;
    protocol.reloadTold(data.messages);
    composer.setStreaming(anyStreaming());
  } catch {
    showNotice("This chat changed in another tab. Reload the page to see it.");
  }
}

const CONNECTION_NOTES = {
  reconnecting: "Reconnecting…",
  crowded: "Too many open tabs: close one, and this one reconnects.",
};

/** The socket's state, said over the composer while it is not simply open. */
function showConnection(state) {
  if (state === "signed_out") {
    // Reconnecting would be refused: the page says why and how to go on, and stops.
    const signIn = document.createElement("a");
    signIn.href = location.pathname; // the page again, which asks to sign in first
    signIn.textContent = "Sign in again";
    notice.replaceChildren("You were signed out. ", signIn);
    notice.hidden = false;
    composer.close();
  }
  const note = CONNECTION_NOTES[state] || "";
  connectionNote.textContent = note;
  connectionNote.hidden = !note;
  app.classList.toggle("offline", state !== "open");
}

const connection = new Connection({
  path: page.urls.socket,
  onFrame: (frame) => protocol.receive(frame),
  onState: showConnection,
  onReconnect: () => protocol.resumeLive(),
});

// Join every answer that was still being written when the page was made, from where the
// page's copy of it ends.
protocol.join(transcript.load(page.messages));
composer.setStreaming(anyStreaming());

// The textarea comes disabled from the server: until now, a message typed would go nowhere.
composer.enable();
if (store.conversation) takeDraft();
app.dataset.ready = "true";
