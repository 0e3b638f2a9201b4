// The conversation on screen: messages in order, the answers to one message side by side
// (compare mode), the versions of an answer, and the context-window divider. Server frames
// about answers are shown here; what the reader asks of an answer goes to the protocol.
//
// An answer lives in a slot: the place on screen of one answer, showing one of its versions.
// Regenerating adds a version to the slot; "‹ 2/3 ›" shows another one in the same place.
// An edited user message has versions too, each starting a branch: choosing one (or editing)
// brings the whole branch, which the server sends and `reload` shows in place of this one.

import { element } from "./dom.js";
import { MessageView } from "./message.js";
import { store } from "./store.js";

export class Transcript {
  /**
   * container: the element the messages go in. actions: what the answers' buttons ask for,
   * {regenerate(view), continueAnswer(view), selectVersion(view, step),
   * edit(view, content, attachments), fork(view), keepAnswer(view)} (protocol.js, chat.js), and
   * where the messages scroll, {keep(element, change), reading(element)} (scroll.js).
   * onChange(): an answer started or ended.
   */
  constructor(container, { actions, onChange }) {
    this.container = container;
    this.actions = actions;
    this.onChange = onChange;
    this.slots = new Map(); // answer id -> its slot {element, versions: [ids], view}
    this.groups = new Map(); // user message id -> the group of answers right after it
    this.regenerating = new Map(); // "replyTo model" -> the slot whose new version is coming
    this.rows = new Map(); // message id -> the top-level element holding it
    this.pendingUser = null; // the user's message, shown before the server has named it
    this.empty = container.querySelector(".empty");
  }

  // Building ---------------------------------------------------------------------------------

  append(row) {
    if (this.empty) this.empty.hidden = true;
    this.container.append(row);
  }

  addView(data) {
    const view = new MessageView(data, this.actions);
    if (view.id !== null) store.messages.set(view.id, view);
    return view;
  }

  addUser(data) {
    const view = this.addView({ ...data, role: "user" });
    this.append(view.element);
    if (view.id !== null) this.rows.set(view.id, view.element);
    view.setVersions(view.versionIds.indexOf(view.id), view.versionIds.length);
    return view;
  }

  newGroup() {
    const group = element("div", "answers");
    this.append(group);
    return group;
  }

  addAnswer(group, data, versions) {
    const view = this.addView({ ...data, role: "assistant" });
    const slot = { element: element("div", "slot"), versions: [...versions], view };
    slot.element.append(view.element);
    group.append(slot.element);
    group.classList.toggle("compare", group.childElementCount > 1);
    this.slots.set(view.id, slot);
    this.markCompared(group);
    this.rows.set(view.id, group);
    view.setVersions(slot.versions.indexOf(view.id), slot.versions.length);
    return view;
  }

  /** Tells the answers of `group` whether they are compared side by side. */
  markCompared(group) {
    const compared = group.childElementCount > 1;
    for (const slot of this.slots.values()) {
      if (slot.element.parentElement === group) slot.view.setCompared(compared);
    }
  }

  /** The stored transcript from the page data; returns the answers still being written. */
  load(messages) {
    const called = new Set();
    for (const m of messages) for (const call of m.tool_calls || []) called.add(String(call.id));
    let previous = null;
    let group = null;
    for (const m of messages) {
      if (m.role === "user") {
        this.addUser(m);
      } else if (m.role === "assistant") {
        // Answers to the same message one after the other were asked for together (compare).
        const together = previous?.role === "assistant" && previous.reply_to === m.reply_to;
        if (!together) {
          group = this.newGroup();
          const first = previous?.role === "user" && previous.id === m.reply_to;
          if (first) this.groups.set(m.reply_to, group);
        }
        this.addAnswer(group, m, m.versions?.length ? m.versions : [m.id]);
      } else if (m.role === "tool" && !called.has(String(m.tool_call_id))) {
        // A result whose call is not on its answer (shown there otherwise).
        const view = this.addView(m);
        this.append(view.element);
      }
      previous = m;
    }
    this.showContextDivider(messages);
    return [...store.messages.values()].filter((view) => view.live);
  }

  /**
   * Another branch of the conversation (the server's `branch` frame): its messages replace
   * those shown. Returns the answers of it still being written, as `load` does.
   */
  reload(messages) {
    for (const view of store.messages.values()) view.element.remove();
    this.container.querySelectorAll(".answers, .context-divider").forEach((node) => node.remove());
    store.messages.clear();
    this.slots.clear();
    this.groups.clear();
    this.regenerating.clear();
    this.rows.clear();
    this.pendingUser = null;
    return this.load(messages);
  }

  /**
   * "Earlier messages are not sent to the model", before the first message the latest answer's
   * context included, when there are messages before it.
   */
  showContextDivider(messages) {
    const answers = messages.filter((m) => m.role === "assistant" && m.context_from_seq != null);
    if (!answers.length) return;
    const from = answers[answers.length - 1].context_from_seq;
    const shown = messages.filter((m) => this.rows.has(m.id));
    if (!shown.some((m) => m.seq < from)) return;
    const first = shown.find((m) => m.seq >= from);
    if (!first) return;
    const divider = element("div", "context-divider", "Earlier messages are not sent to the model");
    divider.setAttribute("role", "separator");
    this.rows.get(first.id).before(divider);
  }

  /** The user's message, on screen at once; the server names it when the answer starts. */
  showPending(content, attachments) {
    this.pendingUser = this.addUser({ id: null, text: content, status: "pending", attachments });
    return this.pendingUser;
  }

  dropPending() {
    this.pendingUser?.element.remove();
    this.pendingUser = null;
    if (this.empty && !this.container.querySelector(".message")) this.empty.hidden = false;
  }

  // Frames -----------------------------------------------------------------------------------

  start(frame) {
    let view = store.messages.get(frame.message);
    if (!view) {
      this.nameUserMessage(frame);
      view = this.placeAnswer(frame);
    }
    view.start(frame);
    this.onChange();
  }

  nameUserMessage(frame) {
    const id = frame.reply_to;
    if (!id || store.messages.has(id) || !this.pendingUser) return;
    const view = this.pendingUser;
    this.pendingUser = null;
    view.setId(id);
    view.setStatus("complete");
    store.messages.set(id, view);
    this.rows.set(id, view.element);
  }

  placeAnswer(frame) {
    const data = {
      id: frame.message,
      text: "",
      status: "streaming",
      model: frame.model,
      reply_to: frame.reply_to,
    };
    const key = `${frame.reply_to} ${frame.model}`;
    const slot = this.regenerating.get(key);
    if (slot) {
      this.regenerating.delete(key);
      slot.versions.push(frame.message);
      return this.show(slot, data);
    }
    // An answer that follows a tool call gets a place of its own, after the call.
    let group = frame.follows ? null : this.groups.get(frame.reply_to);
    if (!group) {
      group = this.newGroup();
      if (!frame.follows) this.groups.set(frame.reply_to, group);
    }
    return this.addAnswer(group, data, [frame.message]);
  }

  /** Shows another version of the answer in `slot`. */
  show(slot, data) {
    const old = slot.view;
    const view = this.addView({ ...data, role: "assistant" });
    slot.element.replaceChildren(view.element);
    if (old.id !== view.id) {
      store.messages.delete(old.id);
      this.slots.delete(old.id);
    }
    slot.view = view;
    this.slots.set(view.id, slot);
    this.markCompared(slot.element.parentElement);
    this.rows.set(view.id, slot.element.parentElement);
    view.setVersions(slot.versions.indexOf(view.id), slot.versions.length);
    return view;
  }

  /** Applies a delta; returns its answer when text went missing before it, else null. */
  delta(frame) {
    const view = store.messages.get(frame.message);
    if (!view || view.role !== "assistant") return null;
    return view.delta(frame) ? view : null;
  }

  /** What an answer with no text yet is doing (waiting, thinking, running a tool). */
  phase(frame) {
    const view = store.messages.get(frame.message);
    if (view?.role === "assistant") view.phase(frame);
  }

  toolCall(frame) {
    store.messages.get(frame.message)?.addToolCall(frame.call || {}, frame.result);
  }

  end(frame) {
    const view = store.messages.get(frame.message);
    if (!view) return;
    view.end(frame);
    this.onChange();
  }

  /** An error about one answer (a tool round that could not go on). */
  fail(frame) {
    const view = store.messages.get(frame.message);
    view?.showNote(frame.detail);
  }

  // While a request waits --------------------------------------------------------------------

  /** The next answer from `view`'s model to its message goes in its place, as a new version. */
  expectVersion(view) {
    const slot = this.slots.get(view.id);
    if (!slot) return false;
    this.regenerating.set(`${view.replyTo} ${view.model}`, slot);
    return true;
  }

  /** No new version of `view` is coming after all. */
  forgetVersion(view) {
    this.regenerating.delete(`${view.replyTo} ${view.model}`);
  }

  /** The id of the version `step` away from the user message `view`, or undefined. */
  otherVersion(view, step) {
    return view.versionIds[view.versionIds.indexOf(view.id) + step];
  }

  /** Shows the version `step` away from `view` in its place; returns its view, or null. */
  showVersion(view, step) {
    const slot = this.slots.get(view.id);
    if (!slot) return null;
    const target = slot.versions[slot.versions.indexOf(view.id) + step];
    if (target === undefined) return null;
    // The server replays the chosen version from its start; until then it shows as pending.
    return this.show(slot, { id: target, text: "", status: "pending", reply_to: view.replyTo });
  }

  /** Shows `view` again where `shown` took its place. */
  showAgain(view, shown) {
    this.show(this.slots.get(shown.id), view.data());
  }
}
