// The device keyring: public keys (raw signatures), the CA bundle (CMS: swupdate -k, rauc keyring),
// and the operator steps that put a certificate on the transit key (CSR, signed chain, trust anchors).
import express, { Router } from "express";
import { allow } from "../auth/allow.js";
import type { ArtifactSigner } from "../signer.js";
import type { SigningService } from "../services/signing.js";
import { actorOf } from "./common.js";

const pem = express.text({ type: ["text/plain", "application/x-pem-file", "application/pkix-cert"], limit: "256kb" });

export function keyringRoutes(signer: ArtifactSigner, signing: SigningService): Router {
  const router = Router();
  router.get("/", allow("read"), async (_req, res) => {
    res.json({ keyName: signer.keyName, keys: await signer.publicKeys() });
  });
  router.get("/ca.pem", allow("read"), async (_req, res) => {
    res.type("application/x-pem-file").send(await signing.caBundle());
  });
  router.put("/trust-anchors", allow("keyring:manage"), pem, async (req, res) => {
    res.json({ certificates: await signing.setTrustAnchors(typeof req.body === "string" ? req.body : "", actorOf(req)) });
  });
  router.post("/csr", allow("keyring:manage"), express.json(), async (req, res) => {
    res.type("application/pkcs10").send(await signing.createCsr(req.body?.subject));
  });
  router.put("/certificate", allow("keyring:manage"), pem, async (req, res) => {
    res.json({ keyVersion: await signing.setCertificate(typeof req.body === "string" ? req.body : undefined, actorOf(req)) });
  });
  return router;
}
