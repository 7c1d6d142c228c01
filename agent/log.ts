// One JSON line per event on stderr (journald keeps it); no dependency, so the bundle stays small.
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
}

export function createLogger(level: Level = "info", write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (l: Level) => (msg: string, fields?: object) => {
    if (ORDER[l] < ORDER[level]) return;
    write(`${JSON.stringify({ t: new Date().toISOString(), level: l, msg, ...fields })}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
