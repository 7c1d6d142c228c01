// The dashboard in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no browser
// download): sign in with an API token, look at the fleet and a device, create a campaign with its live preview,
// and follow it to finished with simulated MQTT devices, by live events only (no reload). Screenshots of every
// view are saved under .tmp/screenshots/ (or AERIE_SCREENSHOTS) for people to look at.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { tempDir } from "../helpers/env.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Debian's Chromium with a fresh profile; playwright-core never downloads a browser here. */
export async function launchChromium(profileDir: string): Promise<{ browser: Browser; page: Page; close(): Promise<void> }> {
  const context = await chromium.launchPersistentContext(profileDir, { executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1400, height: 1000 } });
  const page = context.pages()[0] ?? (await context.newPage());
  return { browser: context.browser()!, page, close: () => context.close() };
}

const SCREENSHOTS = process.env.AERIE_SCREENSHOTS ?? join(process.cwd(), ".tmp", "screenshots");

describe("dashboard in headless Chromium", function () {
  this.timeout(300_000);
  let test: TestStack;
  let profile: Awaited<ReturnType<typeof tempDir>>;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const devices: SimulatedDevice[] = [];
  let releaseId: string;
  const consoleErrors: string[] = [];

  const shot = async (name: string) => {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    execFileSync(process.execPath, ["scripts/build-web.mjs"], { stdio: "inherit" });
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    const keyring = await test.keyring();
    for (let i = 1; i <= 3; i++) {
      const id = `br-${i}`;
      const device = new SimulatedDevice({
        controllerId: id, mqttUrl: test.stack.endpoints.mqtt, keyring, token: await test.deviceToken(id), hardware: i === 3 ? "board-b" : "board-a",
        secondaryIds: { vin: `WBA0000000000000${i}` }, attributes: { region: i === 2 ? "us" : "eu" }, telemetryIntervalMs: 500,
      });
      await device.start();
      devices.push(device);
    }
    await waitFor("registration", async () => ((await test.api.devices()).total === 3 ? true : undefined), 30_000);
    const image = randomBytes(8192);
    const artifact = await test.api.uploadArtifact("browser-2.0.0.swu", image, image.length);
    await test.api.signArtifact(artifact.id);
    releaseId = (await test.api.request<{ id: string }>("POST", "/api/v1/releases", { name: "browser-os", version: "2.0.0", archives: [{ hardwareType: "board-a", artifactId: artifact.id }] })).id;
    profile = await tempDir("aerie-chromium-");
    chrome = await launchChromium(profile.path);
    page = chrome.page;
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(e.message));
  });

  after(async () => {
    await chrome?.close().catch(() => undefined);
    await profile?.remove();
    for (const d of devices) await d.stop().catch(() => undefined);
    await test?.stop();
  });

  it("signs in with an API token and shows the fleet with counts, search and presence", async () => {
    await page.goto(test.stack.endpoints.api);
    await page.getByLabel("API token").fill(test.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Fleet" }).waitFor();
    await page.getByRole("table", { name: "Devices" }).getByRole("link", { name: "br-3" }).waitFor();
    expect(await page.getByTestId("fleet-total").textContent()).to.equal("3");
    expect(await page.getByRole("region", { name: "By hardware" }).textContent()).to.contain("board-a2");
    await shot("01-fleet");
    await page.getByLabel("Search (controller id, name, VIN)").fill("WBA00000000000002");
    await page.getByRole("button", { name: "Apply" }).click();
    await waitFor("search", async () => ((await page.getByRole("table", { name: "Devices" }).locator("tbody tr").count()) === 1 ? true : undefined), 10_000);
    expect(await page.getByRole("table", { name: "Devices" }).locator("tbody").textContent()).to.contain("br-2");
  });

  it("shows a device: identity, versions, telemetry chart", async () => {
    await page.goto(`${test.stack.endpoints.api}/#/devices/br-1`);
    await page.getByRole("heading", { name: "Device br-1" }).waitFor();
    expect(await page.getByRole("region", { name: "Identity" }).textContent()).to.contain("WBA00000000000001");
    expect(await page.getByTestId("running-version").textContent()).to.equal("1.0.0");
    await page.getByRole("figure", { name: "cpuLoad chart" }).waitFor({ timeout: 20_000 });
    await shot("02-device");
  });

  it("creates a campaign with a live preview and follows it to finished by live events", async () => {
    await page.goto(`${test.stack.endpoints.api}/#/campaigns/new?release=${releaseId}`);
    await page.getByLabel("Name").fill("browser-campaign");
    await page.getByLabel("Selection (RSQL over device attributes)").fill("controllerId==br-*");
    const preview = page.getByTestId("preview-selected");
    await waitFor("preview", async () => ((await preview.textContent().catch(() => "")) === "2 selected, 1 left out" ? true : undefined), 20_000);
    expect(await page.getByRole("table", { name: "Devices left out" }).textContent()).to.contain("br-3");
    await shot("03-campaign-preview");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { name: "Campaign browser-campaign" }).waitFor();
    // No reload from here: the page follows the campaign by its live events.
    await page.getByTestId("campaign-status").filter({ hasText: "finished" }).waitFor({ timeout: 120_000 });
    await waitFor("progress", async () => ((await page.getByTestId("campaign-progress").textContent())?.includes("2 success") ? true : undefined), 20_000);
    expect(await page.getByRole("table", { name: "Groups" }).textContent()).to.match(/2|1/);
    expect(await page.getByRole("group", { name: "Campaign lifecycle" }).getByRole("button", { name: "Retry" }).isVisible()).to.equal(true);
    expect(await page.getByRole("group", { name: "Campaign lifecycle" }).getByRole("button", { name: "Pause" }).count()).to.equal(0);
    await shot("04-campaign-finished");
  });

  it("shows releases with the devices running them, the campaign list and the audit log", async () => {
    await page.goto(`${test.stack.endpoints.api}/#/releases`);
    await page.getByRole("table", { name: "Releases" }).getByText("browser-os 2.0.0").waitFor();
    await page.getByRole("button", { name: "Devices running it" }).click();
    await page.getByRole("region", { name: "Devices running the release" }).getByRole("link", { name: "br-1" }).waitFor();
    await shot("05-releases");
    await page.goto(`${test.stack.endpoints.api}/#/campaigns`);
    await page.getByRole("table", { name: "Campaigns" }).getByRole("link", { name: "browser-campaign" }).waitFor();
    await page.goto(`${test.stack.endpoints.api}/#/audit`);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await page.getByRole("table", { name: "Audit events" }).getByText("campaign.create").waitFor({ timeout: 20_000 });
    await shot("06-audit");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const { readFile } = await import("node:fs/promises");
    expect(await readFile((await download.path())!, "utf8")).to.contain("campaign.create");
    await page.goto(`${test.stack.endpoints.api}/#/devices/br-1`);
    await page.getByText("Action history").waitFor();
    await page.getByRole("table", { name: /Feedback of action/ }).first().getByText("success").first().waitFor({ timeout: 20_000 });
    expect(await page.getByRole("table", { name: "Health reports" }).textContent()).to.contain("healthy");
    expect(await page.getByTestId("running-version").textContent()).to.equal("2.0.0");
    await shot("07-device-after-update");
    expect(consoleErrors.filter((e) => !/404|Failed to load resource/.test(e))).to.deep.equal([]);
  });

  it("shows a viewer no buttons it may not use", async () => {
    const viewer = await test.api.request<{ token: string }>("POST", "/api/v1/tokens", { name: "dash-viewer", role: "viewer" });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").fill(viewer.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("who").filter({ hasText: "viewer" }).waitFor();
    await page.goto(`${test.stack.endpoints.api}/#/campaigns`);
    await page.getByRole("link", { name: "browser-campaign" }).click();
    await page.getByTestId("campaign-status").filter({ hasText: "finished" }).waitFor();
    expect(await page.getByRole("group", { name: "Campaign lifecycle" }).getByRole("button").count()).to.equal(0);
    await page.goto(`${test.stack.endpoints.api}/#/releases`);
    await page.getByRole("table", { name: "Releases" }).getByText("browser-os 2.0.0").waitFor();
    expect(await page.getByRole("button", { name: "Delete" }).count()).to.equal(0);
    expect(await page.getByRole("form", { name: "New release" }).count()).to.equal(0);
    await shot("08-viewer-campaign");
    // A wrong token is refused on sign-in.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").fill("aerie_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
  });
});
