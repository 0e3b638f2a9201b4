// The page's side of the wire protocol (docs/protocol.md). Every request the page makes goes out
// from here (send, edit, stop, resume, regenerate, continue, select_version, keep), with what has to be
// remembered about them: the ledger of requests the server has yet to answer, and the answers a
// resume is on its way for. Frames from the server come in here too and go on to the
// transcript, which shows them and calls back here for what the reader asks of an answer.

import { store } from "./store.js";

export class Protocol {
  /**
   * transcript: the Transcript (transcript.js) showing the conversation. send(frame): puts a
   * frame on the socket. onStart(frame): an answer starts, before it is shown. onSending(bool):
   * whether a message sent still waits for its answer. onRefused(frame): the server refused a
   * request (its error frame). onBranch(frame, entry): another branch is shown, after
   * the request `entry` of the ledger: an "edit", or a version chosen ("branch", with its
   * `target` and `step`). onTitle(frame): a conversation has a new title. onTold(frame): what
   * another of the user's tabs did ("conversation.created", ".message", ".renamed",
   * ".deleted", ".branch"); a message sent there to the conversation shown here is shown first.
   */
  constructor({ transcript, send, onStart, onSending, onRefused, onBranch, onTitle, onTold }) {
    this.transcript = transcript;
    this.onTitle = onTitle;
    this.onTold = onTold;
    this.send = send;
    this.onStart = onStart;
    this.onBranch = onBranch;
    this.onSending = onSending;
    this.onRefused = onRefused;
    // Requests the server has not answered yet, oldest first: {kind, matches(frame), undo()}.
    // The server handles one socket's frames in order, so an error frame (which names no
    // request) answers the oldest one; an answer's message.start answers the request it matches.
    this.waiting = [];
    this.resuming = new Set(); // ids of answers a resume is on its way for: their gaps wait
  }

  /** True while a message sent waits for its first answer. */
  get sending() {
    return this.waiting.some((entry) => entry.kind === "send");
  }

  // Requests ---------------------------------------------------------------------------------

  /** Sends `frame` and keeps `entry` in the ledger until the server answers it. */
  request(frame, entry) {
    this.waiting.push(entry);
    this.send(frame);
  }

  /**
   * A new message, shown at once, to `models` (two or three are compared), with its files
   * (`attachments`, as the server described them on upload), the tools and the reasoning
   * effort the conversation goes on with, and a new chat's `settings` (if any); `undo()` runs
   * if the server refuses it.
   */
  sendMessage({ content, models, attachments, tools, reasoningEffort, settings }, undo) {
    this.transcript.showPending(content, attachments);
    const frame = {
      type: "send",
      conversation: store.conversation,
      content,
      tools,
      reasoning_effort: reasoningEffort,
    };
    if (attachments.length) frame.attachments = attachments.map((file) => file.id);
    if (settings && frame.conversation === null) frame.settings = settings;
    if (models.length > 1) frame.models = models;
    else frame.model = models[0];
    this.request(frame, {
      kind: "send",
      // The first answer to a message the page has not seen before answers this send.
      matches: (f) => f.reply_to != null && !store.messages.has(f.reply_to),
      undo: () => {
        this.transcript.dropPending();
        undo();
      },
    });
    this.onSending(this.sending);
  }

  /** Stops every answer being written. */
  stopAll() {
    for (const [id, view] of store.messages) {
      if (view.live) this.send({ type: "stop", message: id });
    }
  }

  /**
   * Asks for the text and the reasoning of an answer from where the page's copy of each ends,
   * then its live frames.
   */
  resume(view) {
    this.resuming.add(view.id);
    this.send({
      type: "resume",
      message: view.id,
      offset: view.held,
      reasoning_offset: view.reasoningHeld,
    });
  }

  /** Joins the answers that were still being written when the page was made. */
  join(views) {
    for (const view of views) {
      this.waiting.push({ kind: "resume", matches: (f) => f.message === view.id, undo() {} });
      this.resume(view);
    }
  }

  /** Back after a dropped connection: every answer still being written, from where it is. */
  resumeLive() {
    for (const view of store.messages.values()) if (view.live) this.resume(view);
  }

  regenerate(view) {
    if (view.live || view.busy) return;
    if (!this.transcript.expectVersion(view)) return;
    view.setBusy(true);
    this.request(
      { type: "regenerate", message: view.id },
      {
        kind: "regenerate",
        matches: (f) => f.reply_to === view.replyTo && f.model === view.model,
        undo: () => {
          this.transcript.forgetVersion(view);
          view.setBusy(false);
        },
      },
    );
  }

  continueAnswer(view) {
    if (view.live || view.busy) return;
    view.setBusy(true);
    this.request(
      { type: "continue", message: view.id },
      { kind: "continue", matches: (f) => f.message === view.id, undo: () => view.setBusy(false) },
    );
  }

  /**
   * A new version of the user's message `view` with `content` and the files `attachments`
   * (undefined: the old version's), answered by `model`: the server sends the branch it
   * starts, then its answer. `refused()` runs if it is refused.
   */
  edit(view, content, model, attachments, refused) {
    const frame = { type: "edit", message: view.id, content, model };
    if (attachments) frame.attachments = attachments.map((file) => file.id);
    this.request(
      frame,
      { kind: "edit", matches: (f) => f.type === "branch", undo: refused },
    );
  }

  /** Goes on with `view`, one of the answers compared: the server sends the branch now shown. */
  keep(view) {
    if (view.live || view.busy) return;
    view.setBusy(true);
    this.request(
      { type: "keep", message: view.id },
      { kind: "keep", matches: (f) => f.type === "branch", undo: () => view.setBusy(false) },
    );
  }

  /** Shows the version `step` (-1 or 1) away from `view`, and makes it the current one. */
  selectVersion(view, step) {
    if (view.live || view.busy) return;
    if (view.role === "user") {
      const target = this.transcript.otherVersion(view, step);
      if (target === undefined) return;
      view.setBusy(true);
      this.request(
        { type: "select_version", message: target },
        {
          kind: "branch",
          target,
          step,
          matches: (f) => f.type === "branch",
          undo: () => view.setBusy(false),
        },
      );
      return;
    }
    const shown = this.transcript.showVersion(view, step);
    if (!shown) return;
    shown.setBusy(true);
    this.request(
      { type: "select_version", message: shown.id },
      {
        kind: "select_version",
        matches: (f) => f.message === shown.id,
        undo: () => this.transcript.showAgain(view, shown),
      },
    );
  }

  // Frames -----------------------------------------------------------------------------------

  /** A frame from the server. */
  receive(frame) {
    switch (frame.type) {
      case "message.start":
        this.started(frame);
        break;
      case "branch":
        this.branch(frame);
        break;
      case "delta":
        this.delta(frame);
        break;
      case "message.phase":
        this.transcript.phase(frame);
        break;
      case "tool.call":
        this.transcript.toolCall(frame);
        break;
      case "message.end":
        this.transcript.end(frame);
        break;
      case "conversation.title":
        this.onTitle?.(frame);
        break;
      case "error":
        this.error(frame);
        break;
      case "conversation.message":
        this.toldMessage(frame);
        this.onTold?.(frame);
        break;
      case "conversation.created":
      case "conversation.renamed":
      case "conversation.deleted":
      case "conversation.branch":
        this.onTold?.(frame);
        break;
    }
  }

  /**
   * A message sent from another tab: in the conversation shown here, it is shown as the
   * user's, and its answers are followed from their start (whichever process writes them).
   */
  toldMessage(frame) {
    if (frame.conversation !== store.conversation || store.messages.has(frame.message.id)) return;
    this.transcript.addUser(frame.message);
    for (const id of frame.answers) {
      this.resuming.add(id);
      this.send({ type: "resume", message: id, offset: 0, reasoning_offset: 0 });
    }
  }

  /**
   * The branch shown changed in another tab: `messages`, read again, take the place of those
   * on screen, and the answers of it still being written are followed.
   */
  reloadTold(messages) {
    this.join(this.transcript.reload(messages));
  }

  started(frame) {
    this.onStart(frame);
    const index = this.waiting.findIndex((entry) => entry.matches(frame));
    if (index >= 0) this.waiting.splice(index, 1);
    this.resuming.delete(frame.message);
    this.transcript.start(frame);
    this.onSending(this.sending);
  }

  /**
   * Another branch is shown (an edit, or another version of a user message chosen): it takes
   * the place of the one on screen. Its answers still being written are followed, but for
   * an edit's own answer, which the server follows already (its start frame comes next).
   */
  branch(frame) {
    const index = this.waiting.findIndex((entry) => entry.matches(frame));
    const entry = index >= 0 ? this.waiting.splice(index, 1)[0] : null;
    const live = this.transcript.reload(frame.messages);
    const users = frame.messages.filter((m) => m.role === "user");
    const edited = entry?.kind === "edit" ? users[users.length - 1]?.id : undefined;
    this.join(live.filter((view) => view.replyTo !== edited));
    this.onBranch(frame, entry);
  }

  delta(frame) {
    const gapped = this.transcript.delta(frame);
    if (gapped && !this.resuming.has(gapped.id)) this.resume(gapped);
  }

  error(frame) {
    if (frame.message) {
      this.transcript.fail(frame);
    } else if (frame.code === "not_streaming") {
      // A stop that crossed the answer's end: nothing to do.
    } else {
      this.waiting.shift()?.undo();
      this.onRefused(frame);
      this.onSending(this.sending);
    }
  }
}
