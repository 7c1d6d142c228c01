export * from "./errors.js";
export * from "./management-client.js";
export type * from "./types.js";
