// The conversation shown, as markdown to paste elsewhere: its title, then each message of the
// branch on screen under who wrote it ("**You:**", "**model:**"), in order. Tool results and
// reasoning stay out; the answers that used them say what came of them.

import { store } from "./store.js";

function author(view) {
  if (view.role === "user") return "You";
  const model = view.model || "Assistant";
  return model.includes(":") ? model.slice(model.indexOf(":") + 1) : model;
}

/** The markdown of the messages inside `container`, in the order they are shown. */
export function conversationMarkdown(container, title) {
  const parts = title ? [`# ${title}`] : [];
  for (const node of container.querySelectorAll(".message[data-message-id]")) {
    const view = store.messages.get(Number(node.dataset.messageId));
    if (!view || view.role === "tool" || !view.text.trim()) continue;
    parts.push(`**${author(view)}:**\n\n${view.text.trim()}`);
  }
  return parts.join("\n\n") + "\n";
}
