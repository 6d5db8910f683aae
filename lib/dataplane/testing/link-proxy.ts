// A loopback stand-in for the link between the sites, for fault tests (reliability-plan R5): it sits between an
// NBD client and a storage daemon's socket and forwards bytes both ways until told to cut the link (every
// connection reset at once), stall it (bytes accepted and never delivered, connections left open, as a dead
// route looks), or slow it down to a given rate.
import fs from "node:fs";
import net from "node:net";

type Mode = { kind: "pass" } | { kind: "stall" } | { kind: "slow"; bytesPerSecond: number };

export class LinkProxy {
  private mode: Mode = { kind: "pass" };
  private readonly sockets = new Set<net.Socket>();
  /** Bytes delivered from the client side to the daemon side. */
  forwardedBytes = 0;

  private constructor(
    readonly socketPath: string,
    private readonly server: net.Server,
  ) {}

  /** Listens on `socketPath` and connects each client to `upstreamPath`. */
  static async start(socketPath: string, upstreamPath: string): Promise<LinkProxy> {
    fs.rmSync(socketPath, { force: true });
    // Connections only arrive once it listens, after `proxy` exists.
    const server = net.createServer((client) => proxy.join(client, upstreamPath));
    const proxy = new LinkProxy(socketPath, server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    return proxy;
  }

  /** Every connection reset now; new ones are still accepted. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** From now on nothing gets through either way, and nothing is closed. */
  stall(): void {
    this.mode = { kind: "stall" };
  }

  /** From now on each direction is held to this rate. */
  slow(bytesPerSecond: number): void {
    this.mode = { kind: "slow", bytesPerSecond };
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private join(client: net.Socket, upstreamPath: string): void {
    const upstream = net.connect(upstreamPath);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        this.sockets.delete(socket);
        // One side gone: the other goes too, as a TCP connection through a relay would.
        (socket === client ? upstream : client).destroy();
      });
    }
    this.pipe(client, upstream, (n) => (this.forwardedBytes += n));
    this.pipe(upstream, client, () => {});
  }

  /** Forwards from → to in order, honouring the mode each chunk meets on arrival. */
  private pipe(from: net.Socket, to: net.Socket, count: (bytes: number) => void): void {
    let queue = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === "stall") return; // swallowed: the far side never hears of it
      queue = queue.then(async () => {
        if (mode.kind === "slow") await new Promise((r) => setTimeout(r, (chunk.length / mode.bytesPerSecond) * 1000));
        if (this.mode.kind === "stall" || to.destroyed) return;
        count(chunk.length);
        to.write(chunk);
      });
    });
  }
}
