// POST /api/v1/artifacts takes the file either as the raw body (application/octet-stream, with
// ?filename=) or as multipart/form-data (field "file"); both are streamed, never buffered whole.
import busboy from "busboy";
import { Router, type Request } from "express";
import type { Readable } from "node:stream";
import { allow } from "../auth/allow.js";
import { badRequest } from "../http-error.js";
import { HTTP_DEFAULTS, limitBytes, tooLarge } from "../http/hardening.js";
import { checkUploadParameters, type ArtifactService } from "../services/artifacts.js";
import { actorOf, present, uuidParam } from "./common.js";

function query(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Resolves with the first file part of a multipart request, as a stream. */
function multipartFile(req: Request): Promise<{ stream: Readable; filename: string; mimeType: string; fields: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 10 } });
    } catch (error) {
      reject(badRequest(`unreadable multipart body: ${(error as Error).message}`));
      return;
    }
    parser.on("field", (name, value) => (fields[name] = value));
    parser.on("file", (_name, stream, info) => resolve({ stream, filename: fields.filename ?? info.filename, mimeType: info.mimeType, fields }));
    parser.on("error", (error) => reject(badRequest(`unreadable multipart body: ${(error as Error).message}`)));
    parser.on("close", () => reject(badRequest("multipart body has no file part")));
    req.pipe(parser);
  });
}

export function artifactRoutes(artifacts: ArtifactService, maxBytes = HTTP_DEFAULTS.maxArtifactBytes): Router {
  const router = Router();

  router.post("/", allow("releases:manage"), async (req, res) => {
    const contentType = req.headers["content-type"] ?? "";
    // A declared size over the limit is refused before a byte is read; an undeclared one is counted on the way.
    const declared = Number(req.headers["content-length"] ?? NaN);
    if (declared > maxBytes) throw tooLarge("the upload", maxBytes);
    let upload: { body: Readable; filename: string; contentType: string; hardwareType?: string; sha256?: string };
    if (contentType.startsWith("multipart/form-data")) {
      const file = await multipartFile(req);
      for (const [name, value] of Object.entries(file.fields)) if (value.includes("\u0000")) throw badRequest(`multipart field ${name} must not contain NUL characters`);
      upload = { body: file.stream, filename: file.filename, contentType: file.mimeType, hardwareType: file.fields.hardwareType ?? query(req, "hardwareType"), sha256: file.fields.sha256 ?? query(req, "sha256") };
    } else {
      upload = { body: req, filename: query(req, "filename") ?? "", contentType: contentType || "application/octet-stream", hardwareType: query(req, "hardwareType"), sha256: query(req, "sha256") };
    }
    // Refuse before any byte goes to S3.
    checkUploadParameters(upload.filename, upload.sha256, upload.hardwareType);
    const artifact = await artifacts.upload({ ...upload, body: limitBytes(upload.body, maxBytes, "the upload"), expectedSha256: upload.sha256, actor: actorOf(req) });
    res.status(201).json(present(artifact));
  });

  router.get("/:id", allow("read"), async (req, res) => {
    res.json(present(await artifacts.get(uuidParam(req.params.id, "artifact id"))));
  });

  router.post("/:id/signatures", allow("releases:manage"), async (req, res) => {
    res.status(201).json(present(await artifacts.sign(uuidParam(req.params.id, "artifact id"), actorOf(req))));
  });

  return router;
}
