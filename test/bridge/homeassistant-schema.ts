// Home Assistant's MQTT `update` platform as its documentation describes it, written out for the tests: which
// keys a discovery config may have (with the abbreviations HA expands), their types and allowed values, and
// the JSON state the platform reads. Sources: https://www.home-assistant.io/integrations/update.mqtt/ (the
// configuration variables and the JSON state keys), https://www.home-assistant.io/integrations/mqtt/ (discovery
// topic, device and origin blocks, abbreviations, removal by an empty retained config) and
// https://www.home-assistant.io/integrations/update/ (device classes). A key outside the documented set is an
// error here: HA would drop it silently, so Aerie would be relying on something HA never reads.

type Check = (value: unknown, path: string, errors: string[]) => void;

const string: Check = (v, p, e) => void (typeof v !== "string" && e.push(`${p} must be a string`));
const boolean: Check = (v, p, e) => void (typeof v !== "boolean" && e.push(`${p} must be a boolean`));
const oneOf = (...values: unknown[]): Check => (v, p, e) => void (!values.includes(v) && e.push(`${p} must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}`));
const nonNegativeInt: Check = (v, p, e) => void ((!Number.isInteger(v) || (v as number) < 0) && e.push(`${p} must be a whole number ≥ 0`));
const template: Check = string;
const nullable = (check: Check): Check => (v, p, e) => (v === null ? undefined : check(v, p, e));

/** HA's valid_subscribe_topic: no empty topic, `+` and `#` only as whole levels, `#` last. */
const subscribeTopic: Check = (v, p, e) => {
  if (typeof v !== "string" || v === "" || v.includes("\u0000")) return void e.push(`${p} must be a non-empty topic`);
  const levels = v.split("/");
  levels.forEach((level, i) => {
    if (level.includes("+") && level !== "+") e.push(`${p}: + must be a whole level`);
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) e.push(`${p}: # must be the whole last level`);
  });
};
/** HA's valid_publish_topic: a subscribe topic without wildcards. */
const publishTopic: Check = (v, p, e) => {
  subscribeTopic(v, p, e);
  if (typeof v === "string" && /[+#]/.test(v)) e.push(`${p} must not contain wildcards`);
};
const icon: Check = (v, p, e) => void ((typeof v !== "string" || !/^[a-z0-9_-]+:[a-z0-9-]+$/.test(v)) && e.push(`${p} must be an icon like mdi:update`));
const url: Check = (v, p, e) => void ((typeof v !== "string" || !/^https?:\/\//.test(v)) && e.push(`${p} must be an http(s) URL`));

function object(keys: Record<string, Check>, abbreviations: Record<string, string>, rules: (value: Record<string, unknown>, path: string, errors: string[]) => void = () => undefined): Check {
  return (v, p, e) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return void e.push(`${p} must be an object`);
    const expanded: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) expanded[abbreviations[key] ?? key] = value;
    for (const [key, value] of Object.entries(expanded)) {
      const check = keys[key];
      if (!check) e.push(`${p}.${key} is not a documented key`);
      else check(value, `${p}.${key}`, e);
    }
    rules(expanded, p, e);
  };
}

const list = (item: Check): Check => (v, p, e) => {
  if (!Array.isArray(v)) return void e.push(`${p} must be a list`);
  v.forEach((x, i) => item(x, `${p}[${i}]`, e));
};
const stringOrList: Check = (v, p, e) => (Array.isArray(v) ? list(string)(v, p, e) : string(v, p, e));

// Abbreviations HA expands in discovery payloads (https://www.home-assistant.io/integrations/mqtt/#supported-abbreviations-in-mqtt-discovery-messages), for the keys of this platform.
const ABBREVIATIONS: Record<string, string> = {
  avty: "availability", avty_mode: "availability_mode", avty_t: "availability_topic", avty_tpl: "availability_template", cmd_t: "command_topic",
  def_ent_id: "default_entity_id", dev: "device", dev_cla: "device_class", dsp_prc: "display_precision", e: "encoding", en: "enabled_by_default",
  ent_cat: "entity_category", ent_pic: "entity_picture", ic: "icon", json_attr_t: "json_attributes_topic", json_attr_tpl: "json_attributes_template",
  l_ver_t: "latest_version_topic", l_ver_tpl: "latest_version_template", o: "origin", obj_id: "object_id", pl_avail: "payload_available",
  pl_inst: "payload_install", pl_not_avail: "payload_not_available", rel_s: "release_summary", rel_u: "release_url", ret: "retain",
  stat_t: "state_topic", tit: "title", uniq_id: "unique_id", val_tpl: "value_template",
};
const DEVICE_ABBREVIATIONS: Record<string, string> = {
  cu: "configuration_url", cns: "connections", ids: "identifiers", mf: "manufacturer", mdl: "model", mdl_id: "model_id", hw: "hw_version",
  sw: "sw_version", sa: "suggested_area", sn: "serial_number", via_device: "via_device",
};
const ORIGIN_ABBREVIATIONS: Record<string, string> = { sw: "sw_version", url: "support_url" };
const AVAILABILITY_ABBREVIATIONS: Record<string, string> = { t: "topic", pl_avail: "payload_available", pl_not_avail: "payload_not_available", val_tpl: "value_template" };

const device = object(
  {
    configuration_url: url, connections: list((v, p, e) => void ((!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== "string")) && e.push(`${p} must be a [type, id] pair`))),
    hw_version: string, identifiers: stringOrList, manufacturer: string, model: string, model_id: string, name: string, serial_number: string,
    suggested_area: string, sw_version: string, via_device: string,
  },
  DEVICE_ABBREVIATIONS,
  (d, p, e) => {
    const ids = d.identifiers;
    const hasIds = typeof ids === "string" ? ids !== "" : Array.isArray(ids) && ids.length > 0;
    const hasConnections = Array.isArray(d.connections) && d.connections.length > 0;
    if (!hasIds && !hasConnections) e.push(`${p} needs at least one of identifiers and connections`);
  },
);

const origin = object({ name: string, sw_version: string, support_url: url }, ORIGIN_ABBREVIATIONS, (o, p, e) => void (o.name === undefined && e.push(`${p}.name is required`)));

const availabilityEntry = object({ topic: subscribeTopic, payload_available: string, payload_not_available: string, value_template: template }, AVAILABILITY_ABBREVIATIONS,
  (a, p, e) => void (a.topic === undefined && e.push(`${p}.topic is required`)));

/** Every configuration variable of the MQTT update platform (update.mqtt), with the entity keys all MQTT platforms share. */
const UPDATE_CONFIG = object(
  {
    availability: list(availabilityEntry), availability_mode: oneOf("all", "any", "latest"), availability_template: template, availability_topic: subscribeTopic,
    command_topic: publishTopic, default_entity_id: string, device, device_class: nullable(oneOf("firmware")), display_precision: nonNegativeInt,
    enabled_by_default: boolean, encoding: string, entity_category: oneOf("config", "diagnostic"), entity_picture: string, icon,
    json_attributes_template: template, json_attributes_topic: subscribeTopic, latest_version_template: template, latest_version_topic: subscribeTopic,
    name: nullable(string), object_id: string, origin, payload_available: string, payload_not_available: string, payload_install: string,
    qos: oneOf(0, 1, 2), release_summary: string, release_url: string, retain: boolean, state_topic: subscribeTopic, title: string, unique_id: string,
    value_template: template,
  },
  ABBREVIATIONS,
  (c, p, e) => {
    if (c.availability !== undefined && c.availability_topic !== undefined) e.push(`${p}: availability and availability_topic exclude each other`);
    // The device registry needs a unique_id (the documentation of `device`).
    if (c.device !== undefined && c.unique_id === undefined) e.push(`${p}: device needs unique_id`);
    if (c.command_topic === undefined && c.payload_install !== undefined) e.push(`${p}: payload_install without command_topic`);
  },
);

/** Errors of a discovery config for the update platform (empty: valid). */
export function updateConfigErrors(config: unknown): string[] {
  const errors: string[] = [];
  UPDATE_CONFIG(config, "config", errors);
  return errors;
}

/** `<prefix>/update/[<node_id>/]<object_id>/config`, ids of [a-zA-Z0-9_-]. */
export function discoveryTopicErrors(topic: string, prefix: string): string[] {
  const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/update/(?:([^/]+)/)?([^/]+)/config$`).exec(topic);
  if (!m) return [`${topic} is not <prefix>/update/[<node_id>/]<object_id>/config`];
  return [m[1], m[2]].filter((id) => id !== undefined && !/^[a-zA-Z0-9_-]+$/.test(id)).map((id) => `${id} in ${topic} must be [a-zA-Z0-9_-]+`);
}

/** The JSON state HA's update platform accepts on state_topic: these keys only, strings never null. */
const UPDATE_STATE = object(
  {
    installed_version: string, latest_version: string, title: string, release_url: url, entity_picture: url, in_progress: boolean,
    release_summary: (v, p, e) => void ((typeof v !== "string" || v.length > 255) && e.push(`${p} must be a string of at most 255 characters`)),
    update_percentage: nullable((v, p, e) => void ((typeof v !== "number" || v < 0 || v > 100) && e.push(`${p} must be a number from 0 to 100 or null`))),
  },
  {},
);

export function updateStateErrors(state: unknown): string[] {
  const errors: string[] = [];
  UPDATE_STATE(state, "state", errors);
  return errors;
}
