// proxy.mjs -- a TCP proxy between the daemon and PostgreSQL that the chaos cases turn into a
// faulty network. Modes:
//
//   pass       bytes flow both ways
//   blackhole  connections are accepted and kept, but no byte is forwarded either way: the
//              existing ones and the new ones hang (the peer never hears back) instead of
//              failing. Bytes received meanwhile are held, as a partitioned network holds
//              them in retransmission, and delivered in order once the mode is pass again.
//   reset      every connection is destroyed with a TCP RST, and so is every new one at once
//
// delayMs (a constructor option) adds that latency to every chunk, each way, in order: a
// store across a slower link, as a hosted PostgreSQL is.
//
// resetAll() resets every open connection once, whatever the mode. Counters tell the cases
// what happened: how many resets hit a connection with a request in flight (the client had
// sent bytes the server had not answered yet), so a case can prove it cut batches midway.

import net from 'node:net';

export class TcpProxy {
  mode = 'pass';
  stats = { accepted: 0, resets: 0, resetsMidRequest: 0, heldWhileBlackholed: 0 };
  #server = null;
  #pairs = new Set();

  constructor(targetHost, targetPort, { delayMs = 0 } = {}) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.delayMs = delayMs;
  }

  async listen() {
    this.#server = net.createServer({ pauseOnConnect: true }, (client) => this.#accept(client));
    await new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.#server.address().port;
    return this.port;
  }

  get connections() {
    return this.#pairs.size;
  }

  setMode(mode) {
    if (!['pass', 'blackhole', 'reset'].includes(mode)) {
      throw new Error(`unknown proxy mode ${mode}`);
    }
    this.mode = mode;
    if (mode === 'reset') {
      this.resetAll();
    }
    for (const p of this.#pairs) {
      this.#pump(p);
    }
  }

  // RST on both sides of every open connection.
  resetAll() {
    for (const p of [...this.#pairs]) {
      this.#reset(p);
    }
  }

  async close() {
    this.resetAll();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client) {
    this.stats.accepted += 1;
    client.setNoDelay(true);
    const p = { client, server: null, toServer: [], toClient: [], inFlight: false, dead: false };
    this.#pairs.add(p);
    client.on('error', () => this.#end(p));
    client.on('close', () => this.#end(p));
    client.on('data', (chunk) => {
      p.toServer.push(chunk);
      p.inFlight = true;
      this.#pump(p);
    });
    if (this.mode === 'reset') {
      this.#reset(p);
      return;
    }
    client.resume();
    this.#pump(p);
  }

  // Opens the upstream connection (lazily: a black-holed client must not even reach the
  // server) and forwards whatever is held, in pass mode only.
  #pump(p) {
    if (p.dead || this.mode !== 'pass') {
      if (!p.dead && this.mode === 'blackhole' && (p.toServer.length || p.toClient.length)) {
        this.stats.heldWhileBlackholed += 1;
      }
      return;
    }
    if (p.server === null) {
      p.server = net.connect({ host: this.targetHost, port: this.targetPort });
      p.server.setNoDelay(true);
      p.server.on('error', () => this.#end(p));
      p.server.on('close', () => this.#end(p));
      p.server.on('data', (chunk) => {
        p.toClient.push(chunk);
        p.inFlight = false; // the server answered something
        this.#pump(p);
      });
    }
    while (p.toServer.length > 0) {
      this.#send(p, p.server, p.toServer.shift());
    }
    while (p.toClient.length > 0) {
      this.#send(p, p.client, p.toClient.shift());
    }
  }

  // Timers of one duration fire in the order they were set: chunks keep their order.
  #send(p, socket, chunk) {
    if (this.delayMs === 0) {
      socket.write(chunk);
      return;
    }
    setTimeout(() => {
      if (!p.dead) {
        socket.write(chunk);
      }
    }, this.delayMs);
  }

  #reset(p) {
    if (p.dead) {
      return;
    }
    this.stats.resets += 1;
    if (p.inFlight) {
      this.stats.resetsMidRequest += 1;
    }
    p.dead = true;
    this.#pairs.delete(p);
    p.client.resetAndDestroy();
    p.server?.resetAndDestroy();
  }

  // One side closed or failed: close the other (gracefully, as a peer's FIN would).
  #end(p) {
    if (p.dead) {
      return;
    }
    p.dead = true;
    this.#pairs.delete(p);
    p.client.end();
    p.server?.end();
    setTimeout(() => {
      p.client.destroy();
      p.server?.destroy();
    }, 1000).unref();
  }
}
