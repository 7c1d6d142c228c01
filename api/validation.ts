// Request bodies are checked against JSON Schemas; a violation is a 400 naming the field.
import { Ajv, type JSONSchemaType, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { badRequest } from "./http-error.js";

const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: true, strict: false });
addFormats.default(ajv);

export function compile<T>(schema: JSONSchemaType<T> | object): ValidateFunction<T> {
  return ajv.compile<T>(schema as JSONSchemaType<T>);
}

export function parseBody<T>(validate: ValidateFunction<T>, body: unknown): T {
  if (!validate(body)) {
    const reasons = (validate.errors ?? []).map((e) => `${e.instancePath || "body"} ${e.message}`);
    throw badRequest(`invalid request body: ${reasons.join("; ")}`, validate.errors);
  }
  return body;
}
