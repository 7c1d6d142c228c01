// Deleting a device: only an admin may; refused while the device has an action that is not over; then the device
// is gone from hawkBit, the registry (with its actions) and the broker (its token no longer logs in), and the
// audit trail names who deleted it.
import { expect } from "chai";
import mqtt from "mqtt";
import pg from "pg";
import { HawkbitManagementClient } from "../../hawkbit/management-client.js";
import { waitFor } from "../../scripts/lib/aerie-client.js";
import { SimulatedDevice } from "../../scripts/simulator/device.js";
import { startTestStack, type TestStack } from "../helpers/stack.js";

describe("API: deleting a device", function () {
  this.timeout(120_000);
  let test: TestStack;
  let pool: pg.Pool;
  let device: SimulatedDevice;

  before(async () => {
    test = await startTestStack({ AERIE_BRIDGE_SYNC_MS: "300" });
    pool = new pg.Pool({ connectionString: test.stack.databaseUrl, max: 2 });
  });

  after(async () => {
    await device?.stop().catch(() => undefined);
    await pool?.end();
    await test?.stop();
  });

  const remove = (controllerId: string, token = test.adminToken) =>
    fetch(`${test.stack.endpoints.api}/api/v1/devices/${encodeURIComponent(controllerId)}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
  const message = async (response: Response) => ((await response.json()) as { error: { message: string } }).error.message;

  it("removes the device from hawkBit, the registry and the broker, once no action of it is open", async () => {
    const token = await test.deviceToken("rm-1");
    device = new SimulatedDevice({ controllerId: "rm-1", mqttUrl: test.stack.endpoints.mqtt, keyring: await test.keyring(), token });
    await device.start();
    const { hawkbit } = test.stack;
    const mgmt = new HawkbitManagementClient({ baseUrl: hawkbit.url, username: hawkbit.username, password: hawkbit.password });
    await waitFor("rm-1 registered in hawkBit", async () => (await mgmt.getTarget("rm-1").catch(() => undefined)), 30_000);
    const { rows: [row] } = await pool.query<{ id: string }>("SELECT id FROM devices WHERE controller_id = 'rm-1'");

    const operator = await test.api.request<{ token: string }>("POST", "/api/v1/tokens", { name: "rm-operator", role: "operator" });
    expect((await remove("rm-1", operator.token)).status).to.equal(403);
    expect((await remove("no-such-device")).status).to.equal(404);

    await pool.query("INSERT INTO device_actions (id, hawkbit_action_id, device_id, status, created_at, updated_at) VALUES (gen_random_uuid(), 777001, $1, 'downloading', now(), now())", [row!.id]);
    const refused = await remove("rm-1");
    expect(refused.status).to.equal(409);
    expect(await message(refused)).to.include("action 777001");
    expect((await mgmt.getTarget("rm-1")).controllerId, "still in hawkBit after the refusal").to.equal("rm-1");

    await pool.query("UPDATE device_actions SET status = 'success' WHERE hawkbit_action_id = 777001");
    await device.stop();
    expect((await remove("rm-1")).status).to.equal(204);

    expect((await mgmt.getTarget("rm-1").catch((error) => error)).kind).to.equal("not-found");
    const left = await pool.query(`SELECT (SELECT count(*) FROM devices WHERE controller_id = 'rm-1') AS devices,
      (SELECT count(*) FROM device_actions WHERE hawkbit_action_id = 777001) AS actions,
      (SELECT count(*) FROM device_credentials WHERE controller_id = 'rm-1') AS credentials,
      (SELECT count(*) FROM device_presence WHERE controller_id = 'rm-1') AS presence`);
    expect(left.rows[0]).to.deep.equal({ devices: "0", actions: "0", credentials: "0", presence: "0" });
    const detail = await fetch(`${test.stack.endpoints.api}/api/v1/devices/rm-1`, { headers: { authorization: `Bearer ${test.adminToken}` } });
    expect(detail.status).to.equal(404);

    // Its token no longer logs in.
    const login = await mqtt.connectAsync(test.stack.endpoints.mqtt, { clientId: "rm-1", username: "rm-1", password: token, reconnectPeriod: 0, connectTimeout: 5000 }).then(
      async (client) => { await client.endAsync(); return "accepted"; },
      (error: Error) => error.message,
    );
    expect(login).to.not.equal("accepted");

    const audit = await pool.query("SELECT actor, subject FROM audit_events WHERE action = 'device.delete'");
    expect(audit.rows).to.have.length(1);
    expect(audit.rows[0].subject).to.equal("device:rm-1");
  });
});
