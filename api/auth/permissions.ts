// Roles and what each may do, declared once. Every route declares the one permission it needs
// (allow("campaigns:operate")), the OpenAPI document records it per operation (x-aerie-permission), and
// test/api/authorization.test.ts walks every documented operation against this table.
export const ROLES = ["viewer", "operator", "release-manager", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

const EVERYONE: readonly Role[] = ROLES;

/** Permission → the roles holding it. admin holds every permission (four eyes still applies to it). */
export const PERMISSIONS = {
  /** Reading campaigns, releases, artifacts, devices, groups, keyring, the OpenAPI document, /metrics. */
  read: EVERYONE,
  /** The audit trail and its exports (compliance reports). */
  "audit:read": EVERYONE,
  /** Campaign lifecycle: create, start, pause, resume, stop, retry; device groups they select. */
  "campaigns:operate": ["operator", "admin"],
  /** Approving or denying a campaign that waits for approval. */
  "campaigns:approve": ["approver", "admin"],
  /** Artifacts, builds, signatures and releases. */
  "releases:manage": ["release-manager", "admin"],
  /** The signing key's certificate, CSRs and the trust anchors devices verify with. */
  "keyring:manage": ["admin"],
  /** Issuing and revoking device MQTT credentials. */
  "devices:credentials": ["admin"],
  /** Deleting a device: it leaves hawkBit, the registry and the broker. */
  "devices:delete": ["admin"],
  /** Webhook subscriptions. */
  "webhooks:manage": ["admin"],
  /** API tokens of operators and automation. */
  "tokens:manage": ["admin"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export const isRole = (value: unknown): value is Role => typeof value === "string" && (ROLES as readonly string[]).includes(value);
export const isPermission = (value: unknown): value is Permission => typeof value === "string" && value in PERMISSIONS;

/** Roles of the table that hold `permission`. */
export function rolesWith(permission: Permission): readonly Role[] {
  return PERMISSIONS[permission];
}
