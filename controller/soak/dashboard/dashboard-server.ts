import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { DASHBOARD_HTML } from './dashboard-page.js';

export interface DashboardOptions {
  host: string;
  port: number;
  /** required of every request when not null: `Authorization: Bearer T` or `?token=T` */
  token: string | null;
  /** the JSON pushed to every page once a second */
  snapshot: () => unknown;
  /** the charts of one target (GET /target?name=NAME), null when there is no such target */
  detail: (name: string) => unknown;
  /** the Prometheus text exposition */
  metrics: () => string;
}

const PUSH_EVERY_MS = 1000;
/** a page that reads slower than this many unsent bytes is skipped until it catches up */
const MAX_BUFFERED_BYTES = 1 << 20;

/** Loopback needs no token; anything wider does (see README, Security). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function tokenOf(request: IncomingMessage): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const url = new URL(request.url ?? '/', 'http://x');
  return url.searchParams.get('token');
}

function sameToken(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The soak's HTTP server: the live dashboard (/ and its /live WebSocket) and /metrics. */
export class DashboardServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly server: Server, private readonly options: DashboardOptions) {
    this.timer = setInterval(() => this.push(), PUSH_EVERY_MS);
    this.timer.unref();
  }

  static async listen(options: DashboardOptions): Promise<DashboardServer> {
    let dashboard: DashboardServer | null = null;
    const server = createServer((request, response) => dashboard?.onRequest(request, response));
    server.on('upgrade', (request, socket, head) => dashboard?.onUpgrade(request, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    dashboard = new DashboardServer(server, options);
    return dashboard;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorized(request: IncomingMessage): boolean {
    return this.options.token === null || sameToken(tokenOf(request), this.options.token);
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    if (!this.authorized(request)) {
      response.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end('401 unauthorized\n');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://x');
    const path = url.pathname;
    try {
      if (request.method !== 'GET') response.writeHead(405).end();
      else if (path === '/') response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(DASHBOARD_HTML);
      else if (path === '/metrics') response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.options.metrics());
      else if (path === '/snapshot') response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(this.options.snapshot()));
      else if (path === '/target') this.sendDetail(url.searchParams.get('name'), response);
      else response.writeHead(404).end('404 not found\n');
    } catch (error) {
      response.writeHead(500).end(`500 ${(error as Error).message}\n`);
    }
  }

  private sendDetail(name: string | null, response: ServerResponse): void {
    const detail = name === null ? null : this.options.detail(name);
    if (detail === null) response.writeHead(404, { 'Content-Type': 'text/plain' }).end(name === null ? '404 give ?name=TARGET\n' : '404 no such target\n');
    else response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(detail));
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (!this.authorized(request) || path !== '/live') {
      socket.end(path === '/live' ? 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\r\n' : 'HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      ws.on('error', () => ws.terminate());
      // The page only listens; anything it says is ignored.
      ws.send(JSON.stringify(this.options.snapshot()));
    });
  }

  private push(): void {
    if (this.wss.clients.size === 0) return;
    const text = JSON.stringify(this.options.snapshot());
    for (const client of this.wss.clients) {
      if (client.readyState === client.OPEN && client.bufferedAmount < MAX_BUFFERED_BYTES) client.send(text);
    }
  }
}
