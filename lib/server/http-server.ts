// The product's HTTP server: Next.js in production mode inside this process, so stopping (or killing) the
// start command stops the web server with it.
import http from "node:http";
import next from "next";
import { clientIpHeader } from "@/lib/auth/client-ip-header";
import { describeError } from "@/lib/errors";

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

function clientAddress(req: http.IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    // The trusted proxy appends the address it saw to X-Forwarded-For: that last entry is the client. Earlier
    // entries are whatever the client sent, so taking the first would let it choose its own address (and with
    // it dodge every per-address throttle).
    const forwarded = req.headers["x-forwarded-for"];
    const last = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded)?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? "unknown";
}

export async function startWebServer(options: {
  dir: string;
  host: string;
  port: number;
  dev: boolean;
  trustProxy: boolean;
}): Promise<WebServer> {
  const app = next({ dev: options.dev, dir: options.dir, hostname: options.host, port: options.port });
  const handle = app.getRequestHandler();
  await app.prepare();
  const server = http.createServer((req, res) => {
    // Only this server says where a request came from; a client's own claim is dropped.
    req.headers[clientIpHeader] = clientAddress(req, options.trustProxy);
    if (!options.trustProxy) delete req.headers["x-forwarded-for"];
    handle(req, res).catch((err: unknown) => {
      console.error(`request failed: ${describeError(err, { withStack: true })}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`Port ${options.port} on ${options.host} is in use: set PORT to another port.`)
          : err,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const shownHost = options.host === "0.0.0.0" ? "localhost" : options.host;
  return {
    url: `http://${shownHost}:${options.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
