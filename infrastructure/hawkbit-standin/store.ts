// The stand-in's whole state, kept in memory and persisted by a StateFile (coalesced atomic writes, see there).
// Lookups of the entities that number in the thousands go through indexes (see indexes.ts).
import { mkdir } from "node:fs/promises";
import type {
  ActionRec, ArtifactRec, DistributionSetRec, DistributionSetTypeRec, RolloutGroupRec, RolloutRec,
  SoftwareModuleRec, SoftwareModuleTypeRec, StandinState, TargetRec,
} from "./model.js";
import { notFound } from "./errors.js";
import { ArrayIndex } from "./indexes.js";
import { StateFile } from "./state-file.js";

const SYSTEM_USER = "system";

function emptyState(): StandinState {
  return {
    version: 1, sequences: {}, softwareModuleTypes: [], distributionSetTypes: [], softwareModules: [], artifacts: [],
    distributionSets: [], targets: [], actions: [], rollouts: [], rolloutGroups: [],
  };
}

export class Store {
  /** hawkbit.controller.pollingTime of this server: the tenant's pollingTime while it has none of its own. */
  globalPollingTime = "00:05:00";
  private readonly file: StateFile;
  private readonly targetsById = new ArrayIndex(() => this.state.targets, (t) => t.controllerId);
  private readonly actionsById = new ArrayIndex(() => this.state.actions, (a) => a.id);
  private readonly actionsByTarget = new ArrayIndex(() => this.state.actions, (a) => a.controllerId);
  private readonly actionsByRollout = new ArrayIndex(() => this.state.actions, (a) => a.rolloutId);
  private readonly actionsByGroup = new ArrayIndex(() => this.state.actions, (a) => a.rolloutGroupId);
  private readonly rolloutsById = new ArrayIndex(() => this.state.rollouts, (r) => r.id);
  private readonly groupsById = new ArrayIndex(() => this.state.rolloutGroups, (g) => g.id);

  private constructor(dataDir: string, readonly state: StandinState, onPersistError: (err: unknown) => void) {
    this.file = new StateFile(dataDir, () => this.state, onPersistError);
  }

  /** `onPersistError` hears about failed background writes (no request waits for them). */
  static async open(dataDir: string, onPersistError: (err: unknown) => void): Promise<Store> {
    await mkdir(dataDir, { recursive: true });
    const state = (await StateFile.read<StandinState>(dataDir)) ?? emptyState();
    const store = new Store(dataDir, state, onPersistError);
    if (state.softwareModuleTypes.length === 0) {
      store.seedDefaultTypes();
      store.changed();
      await store.flush();
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

  /** Records that the state changed; it reaches the disk shortly after, coalesced with other changes. */
  changed(): void {
    this.file.changed();
  }

  /** Resolves once every change so far is on disk. */
  flush(): Promise<void> {
    return this.file.flush();
  }

  /** Writes what is pending and stops persisting: for shutdown. */
  close(): Promise<void> {
    return this.file.close();
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
    return this.targetsById.first(controllerId);
  }

  target(controllerId: string): TargetRec {
    return this.findTarget(controllerId) ?? throwNotFound("Target", controllerId);
  }

  action(id: number): ActionRec {
    return this.actionsById.first(id) ?? throwNotFound("Action", id);
  }

  /** A target's actions in creation order. Read before changing the state again (see ArrayIndex.all). */
  actionsOf(controllerId: string): readonly ActionRec[] {
    return this.actionsByTarget.all(controllerId);
  }

  /** A rollout's actions in creation order. Read before changing the state again (see ArrayIndex.all). */
  actionsOfRollout(rolloutId: number): readonly ActionRec[] {
    return this.actionsByRollout.all(rolloutId);
  }

  /** A rollout group's actions in creation order. Read before changing the state again (see ArrayIndex.all). */
  actionsOfGroup(groupId: number): readonly ActionRec[] {
    return this.actionsByGroup.all(groupId);
  }

  rollout(id: number): RolloutRec {
    return this.rolloutsById.first(id) ?? throwNotFound("Rollout", id);
  }

  rolloutGroup(id: number): RolloutGroupRec {
    return this.groupsById.first(id) ?? throwNotFound("RolloutGroup", id);
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
