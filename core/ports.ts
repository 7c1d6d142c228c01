// A free loopback port, for services that cannot listen on port 0 and report back (PostgreSQL).
import { createServer } from "node:net";

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port Aerie was configured to listen on is taken: start-up stops, naming the variable. */
export class PortInUseError extends Error {
  constructor(readonly variable: string, readonly host: string, readonly port: number) {
    super(`port ${port} on ${host} is already in use (${variable}); stop what listens there or set ${variable} to another port`);
  }
}

export interface PortClaim {
  /** The variable that sets it, e.g. AERIE_API_PORT. */
  variable: string;
  host: string;
  port: number;
}

/** Whether host:port can be listened on now (port 0 always can). */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  if (port === 0) return true;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error)));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Checks every port before anything starts, so a taken port stops start-up with its variable's name
 * instead of a raw EADDRINUSE half-way (or, worse, another server answering in Aerie's place).
 */
export async function assertPortsFree(claims: PortClaim[]): Promise<void> {
  for (const claim of claims) {
    if (!(await portIsFree(claim.host, claim.port))) throw new PortInUseError(claim.variable, claim.host, claim.port);
  }
}
