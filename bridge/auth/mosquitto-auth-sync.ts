// Keeps mosquitto's password and ACL files in a folder current with the device credentials in Postgres:
// written at start and after every credential issued or revoked. Mosquitto re-reads them on SIGHUP; in
// docker-compose its entrypoint (infrastructure/mosquitto/compose-entrypoint.sh) watches the folder and
// sends it. Writes are serialised and coalesced: a burst of provisioning becomes one or two rewrites.
import { mkdir } from "node:fs/promises";
import type pg from "pg";
import type { Logger } from "pino";
import { writeMosquittoAuthFiles } from "./mosquitto-files.js";
import type { OperatorGrants } from "./acl.js";

export interface MosquittoAuthSyncOptions {
  pool: pg.Pool;
  dir: string;
  baseTopic: string;
  /** Service accounts (the bridge) with full access. */
  services: Record<string, string>;
  /** Read-only accounts (Home Assistant) and the topics outside Aerie's tree each may use. */
  operators?: Record<string, string>;
  operatorGrants?: OperatorGrants;
  log: Logger;
}

export class MosquittoAuthSync {
  private writing: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: MosquittoAuthSyncOptions) {}

  /** Resolves once the files reflect every change made before the call. */
  async write(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      try {
        do {
          this.again = false;
          const { pool, dir, baseTopic, services, operators, operatorGrants } = this.options;
          await mkdir(dir, { recursive: true });
          await writeMosquittoAuthFiles({ pool, dir, baseTopic, services, operators, operatorGrants });
        } while (this.again);
      } finally {
        this.writing = undefined;
      }
    })();
    return this.writing;
  }

  /** For the API: a failed rewrite is logged, the credential change itself stands (the next one retries). */
  readonly credentialsChanged = async (): Promise<void> => {
    try {
      await this.write();
    } catch (error) {
      this.options.log.error({ err: (error as Error).message, dir: this.options.dir }, "mosquitto auth files not rewritten");
    }
  };
}
