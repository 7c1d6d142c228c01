// `aerie config`: the effective configuration (secrets hidden), or the README table of variables.
import { InvalidConfigError, loadConfig, SETTINGS, settingsMarkdown } from "../../core/config.js";
import { redactText, redactUrl } from "../../core/redact.js";

export const summary = "Show the effective configuration, or --markdown for the table of variables.";

const SECRET = /PASSWORD|TOKEN|SECRET|DATABASE_URL/;
const isUrl = (value: unknown) => typeof value === "string" && /^[a-z][a-z0-9+.-]*:\/\//i.test(value);

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log("Usage: aerie config [--markdown]\n\nChecks the configuration and prints it; --markdown prints the table of every variable.");
    return 0;
  }
  if (args.includes("--markdown")) {
    console.log(settingsMarkdown());
    return 0;
  }
  try {
    const config = loadConfig() as Record<string, unknown>;
    for (const [key, setting] of Object.entries(SETTINGS)) {
      const raw = config[key];
      // Structured settings (AERIE_MQTT_PAYLOAD_LIMITS) in the form they are written: key=value,…
      const value = raw !== null && typeof raw === "object" ? Object.entries(raw).map(([k, v]) => `${k}=${String(v)}`).join(",") : raw;
      // URLs are shown without their credentials (DATABASE_URL too: host and database help, the password not).
      const shown = value === undefined ? "(unset: embedded or default)" : isUrl(value) ? redactUrl(String(value)) : SECRET.test(setting.env) ? "[set]" : redactText(String(value));
      console.log(`${setting.env.padEnd(24)} ${shown}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      console.error(`aerie: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
