// The page's one piece of shared state: which conversation is open and the messages shown.
// Everything else lives in the module that owns it.

export const store = {
  conversation: null, // id of the open conversation; null on a new chat until its first answer
  messages: new Map(), // message id -> MessageView (message.js) of every message on screen
};

/** True while any answer on screen is being written. */
export function anyStreaming() {
  for (const view of store.messages.values()) if (view.live) return true;
  return false;
}
