// Every change an operator makes through the API leaves an audit event.
import type { Database } from "../core/db/prisma.js";

export async function audit(db: Database, actor: string, action: string, subject: string, details: object = {}): Promise<void> {
  await db.auditEvent.create({ data: { actor, action, subject, details } });
}
