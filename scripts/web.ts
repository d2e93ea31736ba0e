// The web process: Next.js behind Node's own HTTPS server (TLS_CERT/TLS_KEY, else the local CA in .data/tls), plus optional plain HTTP.
import http from "node:http";
import path from "node:path";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import next from "next";
import { config, dataDir, isLoopback } from "@/lib/config";
import { prepareDatabase } from "@/lib/db/prepare";
import { resolveDatabaseUrl } from "@/lib/db/database-url";
import { loadOrCreateTls } from "@/lib/tls/local-ca";
import { getDb } from "@/lib/db";
import { signingKey, signingKeyPath } from "@/lib/channels/signing";
import { createDeviceApi } from "@/lib/devices/api";
import { agentBundleServer } from "@/lib/devices/agent-bundle";
import { onParentGone } from "@/lib/parent-watch";

const log = (msg: string) => console.log(`[web] ${msg}`);

async function main() {
  // Checked before anything starts: a plain-HTTP address on the network is refused (lib/config.ts says why).
  const httpHost = config.httpPort > 0 ? config.httpHost : null;
  const databaseUrl = resolveDatabaseUrl();
  process.env.DATABASE_URL = databaseUrl;
  process.env.NEXTAUTH_URL ??= config.publicUrl;
  await prepareDatabase(databaseUrl);

  const dev = process.env.STRATA_DEV === "1";
  const app = next({ dev, dir: process.cwd(), hostname: config.host, port: config.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  // TRUST_PROXY=1 (or n): that many proxies in front append to X-Forwarded-For; lib/auth/client-address.ts takes their entry.
  const trustProxy = config.trustedProxyHops > 0;
  const key = signingKey();
  log(`channel documents are signed with ${process.env.STRATA_SIGNING_KEY ? "STRATA_SIGNING_KEY" : signingKeyPath()} (public key: GET /api/device/v1/keys)`);
  // Devices poll: their API is answered here, before Next's router and its session machinery.
  const deviceApi = createDeviceApi({ db: getDb(), key, agentBundle: agentBundleServer(path.join(dataDir(), "agent")), changeFeed: { databaseUrl, log } });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // Rate limits key on the client address: take it from the socket unless a trusted proxy sets it.
    if (!trustProxy) req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    if (deviceApi.handle(req, res)) return;
    handle(req, res).catch((err) => {
      console.error("[web] request failed:", err);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };

  const tlsHosts = (process.env.TLS_HOSTS ?? "").split(",").filter(Boolean);
  const tls = loadOrCreateTls(dataDir(), tlsHosts, { log });
  const servers: Array<http.Server | https.Server> = [];
  const secure = https.createServer({ key: tls.key, cert: tls.cert }, onRequest);
  await new Promise<void>((resolve, reject) => secure.once("error", reject).listen(config.port, config.host, resolve));
  servers.push(secure);
  if (tls.caPath) {
    // Checked daily too, so a process that runs for a year swaps in a renewed certificate before the old one ends.
    setInterval(() => {
      try {
        const renewed = loadOrCreateTls(dataDir(), tlsHosts, { log });
        if (renewed.created) secure.setSecureContext({ key: renewed.key, cert: renewed.cert });
      } catch (err) {
        console.error("[web] could not renew the TLS certificate:", (err as Error).message);
      }
    }, 24 * 3600 * 1000).unref();
  }
  log(`listening on https://${config.host}:${config.port}${tls.caPath ? ` (local CA: ${tls.caPath})` : ""}`);
  if (httpHost !== null) {
    // Loopback unless HTTP_HOST and HTTP_ALLOW_NETWORK=1 say otherwise: HOST=0.0.0.0 opens HTTPS to devices, never clear text.
    const plain = http.createServer(onRequest);
    await new Promise<void>((resolve, reject) => plain.once("error", reject).listen(config.httpPort, httpHost, resolve));
    servers.push(plain);
    log(`plain HTTP for local development on http://${httpHost.includes(":") ? `[${httpHost}]` : httpHost}:${config.httpPort}${isLoopback(httpHost) ? " (this machine only)" : " — WARNING: reachable from the network in clear text (HTTP_ALLOW_NETWORK=1)"}`);
  }
  log("ready");

  const shutdown = (signal: string) => {
    log(`${signal}: stopping`);
    for (const server of servers) server.close();
    for (const server of servers) server.closeAllConnections?.();
    void deviceApi.close().catch(() => undefined);
    setTimeout(() => process.exit(0), 2000).unref();
    Promise.resolve(app.close?.()).finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // Started by a wrapper (tsx under `npm run up`) that was killed: free the ports for its replacement.
  onParentGone(() => shutdown("the process that started the web server is gone"));
}

main().catch((err) => {
  console.error("[web] failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
