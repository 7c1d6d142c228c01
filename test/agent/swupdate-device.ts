// A file-backed SWUpdate device for the agent tests: two slot images (A/B), a U-Boot-like environment
// in a file (read and written by a small fw_printenv/fw_setenv stand-in script, as on a board), a
// kernel command line, a boot id, and /etc/sw-versions derived from what the booted slot holds (the
// first line of each slot image says `AERIE-VERSION=x`, as the image's /etc/sw-versions would).
// boot() is the bootloader: it boots `boot_slot` (or, told to fall back, the other slot).
import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildSwu } from "../../signing/swu/build.js";
import type { CmsSigner } from "../../signing/cms/signed-data.js";
import { readSwuHead } from "../../signing/swu/read.js";
import type { PresentedSignature } from "../../signing/formats.js";
import { writeJson } from "./helpers.js";

export const SLOT_SIZE = 256 * 1024;
export const HARDWARE = "aerie-board";

const ENV_SCRIPT = `#!/bin/sh
# fw_printenv -n NAME / fw_setenv -s FILE stand-in over a name=value file next to this script.
env="$(dirname "$0")/bootenv"
case "$1" in
  get) grep -q "^$2=" "$env" 2>/dev/null || exit 1; grep -m1 "^$2=" "$env" | cut -d= -f2- ;;
  set) touch "$env"; while read -r name value; do [ -n "$name" ] || continue; grep -v "^$name=" "$env" > "$env.tmp"; echo "$name=$value" >> "$env.tmp"; mv "$env.tmp" "$env"; done < "$2" ;;
  *) exit 2 ;;
esac
`;

export function slotImage(version: string, filler = 0): Buffer {
  const image = Buffer.alloc(SLOT_SIZE - 4096, filler);
  image.write(`AERIE-VERSION=${version}\n`);
  return image;
}

export class SwupdateDevice {
  readonly configPath: string;
  constructor(readonly dir: string, readonly controllerId: string) {
    this.configPath = join(dir, "agent.json");
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async create(options: { mqttUrl: string; token?: string; caFile: string; publicKeys?: Record<string, string>; extra?: Record<string, unknown> }): Promise<void> {
    await mkdir(join(this.dir, "slots"), { recursive: true });
    await writeFile(this.path("slots/A.img"), Buffer.concat([slotImage("1.0.0"), Buffer.alloc(4096)]));
    await writeFile(this.path("slots/B.img"), Buffer.alloc(SLOT_SIZE));
    await writeFile(this.path("fwenv"), ENV_SCRIPT, { mode: 0o755 });
    await writeFile(this.path("bootenv"), "boot_slot=A\nustate=0\nupgrade_available=0\nbootcount=0\n");
    await writeFile(this.path("reboot"), `#!/bin/sh\necho "reboot $(date +%s%N)" >> "$(dirname "$0")/reboots"\n`, { mode: 0o755 });
    await writeJson(this.configPath, {
      controllerId: this.controllerId,
      token: options.token ?? "unused-without-broker-auth",
      mqtt: { url: options.mqttUrl },
      updateClient: "swupdate",
      hardware: HARDWARE,
      compatible: HARDWARE,
      stateDir: this.path("state"),
      keyring: { publicKeys: options.publicKeys ?? {}, caFile: options.caFile },
      download: { retries: 3, retryDelayMs: 200, timeoutSeconds: 20 },
      telemetry: { intervalSeconds: 0 },
      versionsFile: this.path("sw-versions"),
      cmdlineFile: this.path("cmdline"),
      bootIdFile: this.path("boot_id"),
      swupdate: {
        args: ["-H", `${HARDWARE}:1.0`],
        workingDirectory: this.dir,
        slots: [
          { name: "rootfs.0", bootname: "A", selection: "stable,copy1", device: "slots/A.img" },
          { name: "rootfs.1", bootname: "B", selection: "stable,copy2", device: "slots/B.img" },
        ],
        getEnv: [this.path("fwenv"), "get"],
        setEnv: [this.path("fwenv"), "set"],
      },
      reboot: { command: [this.path("reboot")] },
      health: { checks: [{ name: "app", command: ["sh", "-c", `if [ -e '${this.path("unhealthy")}' ]; then cat '${this.path("unhealthy")}'; exit 1; fi`], timeoutSeconds: 10 }] },
      logLevel: "debug",
      ...options.extra,
    });
    await this.powerOn("A");
  }

  /** The bootloader: boots `slot`, or what the environment says. */
  async powerOn(slot?: string): Promise<string> {
    const env = await this.env();
    const booted = slot ?? env.boot_slot ?? "A";
    await writeFile(this.path("cmdline"), `console=ttyS0 rootwait aerie.slot=${booted}\n`);
    await writeFile(this.path("boot_id"), `${randomUUID()}\n`);
    const first = (await readFile(this.path(`slots/${booted}.img`))).subarray(0, 64).toString("latin1");
    const version = /AERIE-VERSION=([^\n]+)/.exec(first)?.[1];
    await writeFile(this.path("sw-versions"), version ? `rootfs ${version}\n` : "");
    return booted;
  }

  async env(): Promise<Record<string, string>> {
    const text = await readFile(this.path("bootenv"), "utf8").catch(() => "");
    return Object.fromEntries(text.split("\n").filter(Boolean).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
  }

  async reboots(): Promise<number> {
    return (await readFile(this.path("reboots"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;
  }

  async slotVersion(slot: "A" | "B"): Promise<string | undefined> {
    return /AERIE-VERSION=([^\n]+)/.exec((await readFile(this.path(`slots/${slot}.img`))).subarray(0, 64).toString("latin1"))?.[1];
  }
}

/** sw-description for A/B: one collection per slot, devices relative to swupdate's working directory. */
export function abSwDescription(version: string, image = "rootfs.img"): string {
  const entry = (slot: string) => `{ filename = "${image}"; device = "slots/${slot}.img"; type = "raw"; sha256 = "$swupdate_get_sha256(${image})"; }`;
  return `software =\n{\n\tversion = "${version}";\n\thardware-compatibility = [ "1.0" ];\n\tstable = {\n\t\tcopy1 = { images: ( ${entry("A")} ); };\n\t\tcopy2 = { images: ( ${entry("B")} ); };\n\t};\n};\n`;
}

/** An A/B .swu built by Aerie's builder and signed (CMS) through the transit key. */
export async function buildAbSwu(dir: string, version: string, signer: CmsSigner, keyName: string): Promise<{ path: string; signature: PresentedSignature }> {
  const image = join(dir, `rootfs-${version}.img`);
  await writeFile(image, slotImage(version, version.charCodeAt(0)));
  const output = join(dir, `aerie-os-${version}.swu`);
  // The image is stored as rootfs.img inside the archive.
  const staged = join(dir, `stage-${version}`);
  await mkdir(staged, { recursive: true });
  await writeFile(join(staged, "rootfs.img"), await readFile(image));
  await buildSwu({ output, images: [join(staged, "rootfs.img")], description: { text: abSwDescription(version) }, mode: "cms", cmsSigner: signer });
  const head = readSwuHead((await readFile(output)).subarray(0, 1024 * 1024));
  return { path: output, signature: { format: "cms", covers: "sw-description", algorithm: "rsa-pkcs1v15", keyName, keyVersion: 1, value: head.signature.toString("base64") } };
}
