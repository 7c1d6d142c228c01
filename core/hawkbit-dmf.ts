// Wires the DMF device channel into a running Aerie: connected before the bridge starts, stopped after it, and
// each action hawkBit pushes wakes the leading bridge's action sync (coalesced: a rollout start pushes one message
// per device, and one wake-up per burst is enough).
import type pg from "pg";
import { wakeBridge } from "../bridge/wake.js";
import { DmfChannel, type DmfChannelOptions } from "../hawkbit/dmf/dmf-channel.js";
import type { ShutdownSequence } from "./shutdown.js";

const WAKE_COALESCE_MS = 50;

export async function startDmfChannel(options: DmfChannelOptions, pool: pg.Pool, parts: ShutdownSequence): Promise<DmfChannel> {
  const channel = new DmfChannel(options);
  await channel.start();
  parts.add("hawkBit DMF channel", () => channel.stop());
  let pending: NodeJS.Timeout | undefined;
  channel.on("changed", () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      wakeBridge(pool).catch(() => undefined);
    }, WAKE_COALESCE_MS);
  });
  return channel;
}
