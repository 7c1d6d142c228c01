// Device groups: a named set of devices a campaign can select (`selection: {group}`). A list of controller ids
// becomes a hawkBit target tag on those targets (the campaign's target filter is then `tag==aerie-group-<name>`);
// a filter is device-attribute RSQL, translated like a campaign's selection. The row is written first and the tag
// is looked up by name before it is created, so repeating the provisioning after a crash is safe.
import type { Database } from "../../core/db/prisma.js";
import { audit } from "../audit.js";
import { HawkbitError } from "../../hawkbit/errors.js";
import type { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { badRequest, conflict, notFound } from "../http-error.js";
import { compile, parseBody } from "../validation.js";
import { selectionToTargetFilter } from "./campaign-plan.js";

export interface DeviceGroupInput {
  name: string;
  devices?: string[];
  filter?: string;
}

// hawkBit limits tag names to 64 characters; the prefix keeps Aerie's tags apart from an operator's own.
export const TAG_PREFIX = "aerie-group-";
const ASSIGN_CHUNK = 500;

export const deviceGroupInputSchema = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: "^[A-Za-z0-9._-]{1,52}$" },
    devices: { type: "array", minItems: 1, maxItems: 100000, uniqueItems: true, items: { type: "string", minLength: 1, maxLength: 256 } },
    filter: { type: "string", minLength: 1, maxLength: 1024, description: "RSQL over device attributes, as a campaign's selection." },
  },
} as const;

const validate = compile<DeviceGroupInput>(deviceGroupInputSchema);

export class DeviceGroupService {
  constructor(private readonly db: Database, private readonly hawkbit: HawkbitManagementClient) {}

  async create(body: unknown, actor: string) {
    const input = parseBody(validate, body);
    if ((input.devices === undefined) === (input.filter === undefined)) throw badRequest("give either devices or filter");
    if (await this.db.deviceGroup.findUnique({ where: { name: input.name } })) throw conflict(`device group ${input.name} exists already`);
    const group = input.filter !== undefined
      ? await this.db.deviceGroup.create({ data: { name: input.name, devices: [], filter: input.filter, targetFilter: selectionToTargetFilter(input.filter, "filter"), status: "ready" } })
      : await this.db.deviceGroup.create({ data: { name: input.name, devices: input.devices!, status: "provisioning" } });
    await audit(this.db, actor, "device-group.create", `device-group:${group.id}`, { name: input.name, devices: input.devices?.length, filter: input.filter });
    if (group.status === "provisioning") {
      try {
        await this.provision(group.id);
      } catch (error) {
        // hawkBit refused (a device it does not know): no group and no tag remain.
        if (error instanceof HawkbitError && error.status !== undefined && error.status < 500 && error.status !== 429) {
          await this.remove(group.id);
          throw badRequest(`hawkBit refused the group: ${error.message}`);
        }
        throw error;
      }
    }
    return this.get(input.name);
  }

  /** provisioning → ready: the tag exists once and is on every listed device. */
  private async provision(id: string): Promise<string> {
    const group = await this.db.deviceGroup.findUniqueOrThrow({ where: { id } });
    if (group.status === "ready" && group.targetFilter) return group.targetFilter;
    const tagName = `${TAG_PREFIX}${group.name}`;
    const tag = await this.hawkbit.ensureTargetTag({ name: tagName, description: `Aerie device group ${group.name}` });
    await this.db.deviceGroup.update({ where: { id }, data: { hawkbitTagId: tag.id } });
    for (let i = 0; i < group.devices.length; i += ASSIGN_CHUNK) await this.hawkbit.assignTargetTag(tag.id, group.devices.slice(i, i + ASSIGN_CHUNK));
    const targetFilter = `tag==${tagName}`;
    await this.db.deviceGroup.update({ where: { id }, data: { targetFilter, status: "ready" } });
    return targetFilter;
  }

  private async remove(id: string): Promise<void> {
    const group = await this.db.deviceGroup.findUniqueOrThrow({ where: { id } });
    const tag = group.hawkbitTagId ?? (await this.hawkbit.findTargetTag(`${TAG_PREFIX}${group.name}`))?.id;
    if (tag !== undefined) await this.hawkbit.deleteTargetTag(tag);
    await this.db.deviceGroup.delete({ where: { id } });
  }

  /** The hawkBit target filter selecting the group's devices (completing an interrupted provisioning first). */
  async targetFilterOf(name: string): Promise<string> {
    const group = await this.db.deviceGroup.findUnique({ where: { name } });
    if (!group) throw notFound(`device group ${name}`);
    return this.provision(group.id);
  }

  async get(name: string) {
    const group = await this.db.deviceGroup.findUnique({ where: { name } });
    if (!group) throw notFound(`device group ${name}`);
    return group;
  }

  list() {
    return this.db.deviceGroup.findMany({ orderBy: { name: "asc" } });
  }
}
