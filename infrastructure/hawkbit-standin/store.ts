// The stand-in's whole state, kept in memory and written to `<dataDir>/state.json` after every mutation.
// Writes are atomic (temp file + rename) and coalesced, so a crash leaves either the old or the new state.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type {
  ActionRec, ArtifactRec, DistributionSetRec, DistributionSetTypeRec, RolloutGroupRec, RolloutRec,
  SoftwareModuleRec, SoftwareModuleTypeRec, StandinState, TargetRec,
} from "./model.js";
import { notFound } from "./errors.js";

const STATE_FILE = "state.json";
const SYSTEM_USER = "system";

function emptyState(): StandinState {
  return {
    version: 1, sequences: {}, softwareModuleTypes: [], distributionSetTypes: [], softwareModules: [], artifacts: [],
    distributionSets: [], targets: [], actions: [], rollouts: [], rolloutGroups: [],
  };
}

export class Store {
  private dirty = false;
  private writing: Promise<void> | undefined;

  private constructor(private readonly dataDir: string, readonly state: StandinState) {}

  static async open(dataDir: string): Promise<Store> {
    await mkdir(dataDir, { recursive: true });
    let state: StandinState;
    try {
      state = JSON.parse(await readFile(join(dataDir, STATE_FILE), "utf8")) as StandinState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      state = emptyState();
    }
    const store = new Store(dataDir, state);
    if (state.softwareModuleTypes.length === 0) {
      store.seedDefaultTypes();
      await store.persist();
    }
    return store;
  }

  /** A tenant configuration value, or hawkBit's default for the key. */
  config<T>(key: string, fallback: T): T {
    const entry = this.state.tenantConfig?.[key];
    return entry === undefined ? fallback : (entry.value as T);
  }

  nextId(sequence: string): number {
    const next = (this.state.sequences[sequence] ?? 0) + 1;
    this.state.sequences[sequence] = next;
    return next;
  }

  audit(user: string, now = Date.now()) {
    return { createdAt: now, createdBy: user, lastModifiedAt: now, lastModifiedBy: user };
  }

  touch(entity: { lastModifiedAt: number; lastModifiedBy: string }, user: string): void {
    entity.lastModifiedAt = Date.now();
    entity.lastModifiedBy = user;
  }

  /** Resolves once the state including every mutation made before this call is on disk. */
  persist(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.flush();
    return this.writing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        const tmp = join(this.dataDir, `${STATE_FILE}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
        await writeFile(tmp, JSON.stringify(this.state));
        await rename(tmp, join(this.dataDir, STATE_FILE));
      }
    } finally {
      this.writing = undefined;
    }
  }

  // Lookups throw hawkBit's 404 so routes can stay linear.

  softwareModuleType(id: number): SoftwareModuleTypeRec {
    return this.state.softwareModuleTypes.find((t) => t.id === id) ?? throwNotFound("SoftwareModuleType", id);
  }

  softwareModuleTypeByKey(key: string): SoftwareModuleTypeRec | undefined {
    return this.state.softwareModuleTypes.find((t) => t.key === key);
  }

  distributionSetType(id: number): DistributionSetTypeRec {
    return this.state.distributionSetTypes.find((t) => t.id === id) ?? throwNotFound("DistributionSetType", id);
  }

  distributionSetTypeByKey(key: string): DistributionSetTypeRec | undefined {
    return this.state.distributionSetTypes.find((t) => t.key === key);
  }

  softwareModule(id: number): SoftwareModuleRec {
    return this.state.softwareModules.find((m) => m.id === id) ?? throwNotFound("SoftwareModule", id);
  }

  artifactsOf(softwareModuleId: number): ArtifactRec[] {
    return this.state.artifacts.filter((a) => a.softwareModuleId === softwareModuleId);
  }

  distributionSet(id: number): DistributionSetRec {
    return this.state.distributionSets.find((d) => d.id === id) ?? throwNotFound("DistributionSet", id);
  }

  findTarget(controllerId: string): TargetRec | undefined {
    return this.state.targets.find((t) => t.controllerId === controllerId);
  }

  target(controllerId: string): TargetRec {
    return this.findTarget(controllerId) ?? throwNotFound("Target", controllerId);
  }

  action(id: number): ActionRec {
    return this.state.actions.find((a) => a.id === id) ?? throwNotFound("Action", id);
  }

  actionsOf(controllerId: string): ActionRec[] {
    return this.state.actions.filter((a) => a.controllerId === controllerId);
  }

  rollout(id: number): RolloutRec {
    return this.state.rollouts.find((r) => r.id === id) ?? throwNotFound("Rollout", id);
  }

  rolloutGroup(id: number): RolloutGroupRec {
    return this.state.rolloutGroups.find((g) => g.id === id) ?? throwNotFound("RolloutGroup", id);
  }

  groupsOf(rollout: RolloutRec): RolloutGroupRec[] {
    return rollout.groupIds.map((id) => this.rolloutGroup(id));
  }

  /** A DS is complete when every mandatory module type of its DS type has a module. */
  isComplete(ds: DistributionSetRec): boolean {
    const type = this.distributionSetType(ds.typeId);
    const present = new Set(ds.moduleIds.map((id) => this.softwareModule(id).typeId));
    return type.mandatoryModuleTypeIds.every((t) => present.has(t));
  }

  /** The module and DS types a fresh hawkBit tenant starts with. */
  private seedDefaultTypes(): void {
    const smType = (key: string, name: string, description: string, maxAssignments: number): number => {
      const id = this.nextId("softwareModuleTypes");
      this.state.softwareModuleTypes.push({ id, key, name, description, maxAssignments, ...this.audit(SYSTEM_USER) });
      return id;
    };
    const os = smType("os", "OS", "Core firmware or operating system", 1);
    const runtime = smType("runtime", "Runtime", "Runtime environment", 1);
    const app = smType("application", "Application", "Application Addons", 2147483647);
    const dsType = (key: string, name: string, description: string, mandatory: number[], optional: number[]): void => {
      this.state.distributionSetTypes.push({
        id: this.nextId("distributionSetTypes"), key, name, description,
        mandatoryModuleTypeIds: mandatory, optionalModuleTypeIds: optional, ...this.audit(SYSTEM_USER),
      });
    };
    dsType("os", "OS only", "Default type with Firmware/OS only.", [os], []);
    dsType("os_app", "OS with app(s)", "Default type with Firmware/OS and optional app(s).", [os], [app, runtime]);
    dsType("app", "App(s) only", "Default type with app(s) only.", [app], [runtime]);
  }
}

function throwNotFound(entity: string, id: string | number): never {
  throw notFound(entity, id);
}

/** The DS type a DS gets when the create request names none, as hawkBit's tenant default. */
export const DEFAULT_DS_TYPE_KEY = "os_app";
