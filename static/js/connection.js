// The WebSocket to the server: reconnects on its own with backoff and says when it is back,
// before anything queued meanwhile goes out. The page only sees frames, and the socket's state.
//
// The server's close codes (docs/protocol.md) decide what comes next: after 4401 (the sign-in
// ended) reconnecting would only be refused, so the page stops; after 4429 (too many sockets
// open) it waits longer and longer before trying again; after anything else (4408 too far
// behind, a dropped network, a restart) it reconnects at once and resumes its answers.

export const SIGNED_OUT = 4401;
export const TOO_MANY_SOCKETS = 4429;
// A socket refused as one too many is closed right after it opens: it counts as in until it
// has stayed open this long.
const ADMITTED_AFTER_MS = 1500;

export class Connection {
  constructor({ path, onFrame, onState, onReconnect }) {
    this.path = path; // the socket's address on this host (the page data's urls.socket)
    this.onFrame = onFrame;
    this.onState = onState; // "open" | "reconnecting" | "crowded" | "signed_out"
    this.onReconnect = onReconnect; // () => the socket is open again after a drop
    this.queue = [];
    this.attempt = 0;
    this.crowded = 0; // refusals for too many sockets in a row
    this.suspended = false;
    this.ended = false; // signed out: no more sockets
    this.connect();
    window.addEventListener("online", () => this.retryNow());
    // Leaving the page closes the socket on purpose: no "reconnecting" while the next page
    // loads. A page restored from the back/forward cache joins its answers again.
    window.addEventListener("pagehide", () => this.suspend());
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) this.wake();
    });
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}${this.path}`;
  }

  connect() {
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener("open", () => {
      const reconnected = this.attempt > 0 || this.crowded > 0;
      this.attempt = 0;
      if (this.crowded) {
        // Still "too many" until the server has let this one stay.
        this.admitted = setTimeout(() => {
          this.crowded = 0;
          this.onState("open");
        }, ADMITTED_AFTER_MS);
      } else {
        this.onState("open");
      }
      if (reconnected) this.onReconnect();
      for (const frame of this.queue.splice(0)) socket.send(JSON.stringify(frame));
    });
    socket.addEventListener("message", (event) => this.onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket || this.suspended) return;
      clearTimeout(this.admitted);
      if (event.code === SIGNED_OUT) {
        this.ended = true;
        this.onState("signed_out");
      } else if (event.code === TOO_MANY_SOCKETS) {
        this.crowded++;
        this.onState("crowded");
        // 0.5–1 s, then twice as long each time, up to 15–30 s.
        this.retryIn(Math.min(30000, 1000 * 2 ** (this.crowded - 1)));
      } else {
        this.onState("reconnecting");
        this.retryIn(Math.min(10000, 250 * 2 ** this.attempt));
        this.attempt++;
      }
    });
  }

  /** Connects again in about `delay` ms (somewhere in its second half, so tabs spread out). */
  retryIn(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay * (0.5 + Math.random() / 2));
  }

  retryNow() {
    if (!this.suspended && !this.ended && this.socket.readyState === WebSocket.CLOSED) {
      clearTimeout(this.timer);
      this.connect();
    }
  }

  suspend() {
    this.suspended = true;
    clearTimeout(this.timer);
    clearTimeout(this.admitted);
    this.socket.close();
  }

  wake() {
    this.suspended = false;
    if (this.ended) return;
    this.attempt = Math.max(this.attempt, 1); // a reconnect: the page resumes its answers
    this.connect();
  }

  send(frame) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
    else this.queue.push(frame);
  }
}
