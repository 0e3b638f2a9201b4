// The WebSocket to the server: reconnects on its own with backoff and, once back, asks for
// whatever each open answer is missing. The page only sees frames.

export class Connection {
  constructor({ onFrame, onState, resumeList }) {
    this.onFrame = onFrame;
    this.onState = onState; // "open" | "reconnecting"
    this.resumeList = resumeList; // () => [{message, offset}] for answers still streaming
    this.queue = [];
    this.attempt = 0;
    this.connect();
    window.addEventListener("online", () => this.retryNow());
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws/chat/`;
  }

  connect() {
    this.socket = new WebSocket(this.url());
    this.socket.addEventListener("open", () => {
      const reconnected = this.attempt > 0;
      this.attempt = 0;
      this.onState("open");
      if (reconnected) for (const r of this.resumeList()) this.send({ type: "resume", ...r });
      for (const frame of this.queue.splice(0)) this.socket.send(JSON.stringify(frame));
    });
    this.socket.addEventListener("message", (event) => this.onFrame(JSON.parse(event.data)));
    this.socket.addEventListener("close", () => this.scheduleReconnect());
  }

  scheduleReconnect() {
    this.onState("reconnecting");
    const delay = Math.min(10000, 250 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  retryNow() {
    if (this.socket.readyState === WebSocket.CLOSED) {
      clearTimeout(this.timer);
      this.connect();
    }
  }

  send(frame) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
    else this.queue.push(frame);
  }
}
