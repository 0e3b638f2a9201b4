// The WebSocket to the server: reconnects on its own with backoff and says when it is back,
// before anything queued meanwhile goes out. The page only sees frames.

export class Connection {
  constructor({ path, onFrame, onState, onReconnect }) {
    this.path = path; // the socket's address on this host (the page data's urls.socket)
    this.onFrame = onFrame;
    this.onState = onState; // "open" | "reconnecting"
    this.onReconnect = onReconnect; // () => the socket is open again after a drop
    this.queue = [];
    this.attempt = 0;
    this.suspended = false;
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
      const reconnected = this.attempt > 0;
      this.attempt = 0;
      this.onState("open");
      if (reconnected) this.onReconnect();
      for (const frame of this.queue.splice(0)) socket.send(JSON.stringify(frame));
    });
    socket.addEventListener("message", (event) => this.onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (socket === this.socket && !this.suspended) this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    this.onState("reconnecting");
    const delay = Math.min(10000, 250 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  retryNow() {
    if (!this.suspended && this.socket.readyState === WebSocket.CLOSED) {
      clearTimeout(this.timer);
      this.connect();
    }
  }

  suspend() {
    this.suspended = true;
    clearTimeout(this.timer);
    this.socket.close();
  }

  wake() {
    this.suspended = false;
    this.attempt = Math.max(this.attempt, 1); // a reconnect: the page resumes its answers
    this.connect();
  }

  send(frame) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
    else this.queue.push(frame);
  }
}
