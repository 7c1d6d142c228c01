// What the API needs from a signing backend: a signature over an artifact's sha256, and the public
// keys devices use to check it. The Vault transit implementation is adapted to this in core/stack.
export interface ArtifactSignature {
  keyName: string;
  keyVersion: number;
  algorithm: string;
  /** base64 */
  value: string;
}

export interface ArtifactSigner {
  readonly keyName: string;
  signDigest(sha256: Buffer): Promise<ArtifactSignature>;
  /** PEM public keys by key version, every version that may still verify artifacts. */
  publicKeys(): Promise<{ version: number; pem: string }[]>;
}
