// The web dashboard (web/, built into web/dist by scripts/build-web.mjs) at /. It routes by the URL's hash,
// so only its index and hashed assets are served; without a build, / says how to make one.
import express, { type NextFunction, type Request, type Response } from "express";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Aerie</title></head>
<body><main><h1>Aerie</h1><p>The dashboard is not built. Run <code>npm run build:web</code> (or <code>npm install</code>) and reload.</p>
<p>The API is at <a href="/openapi.json">/openapi.json</a>.</p></main></body></html>`;

export function dashboard(): express.RequestHandler[] {
  const assets = express.static(DIST, { index: false, immutable: true, maxAge: "365d", fallthrough: true });
  const index = (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== "GET" && req.method !== "HEAD") || (req.path !== "/" && req.path !== "/index.html")) return next();
    const file = `${DIST}index.html`;
    res.set("Cache-Control", "no-cache");
    if (!existsSync(file)) {
      res.type("html").send(NOT_BUILT);
      return;
    }
    res.sendFile(file);
  };
  // Hashed assets only under /assets; everything else falls through to the API's 404.
  const scoped = (req: Request, res: Response, next: NextFunction) => (req.path.startsWith("/assets/") ? assets(req, res, next) : next());
  return [index, scoped];
}
