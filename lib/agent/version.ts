// The agent's own version: sent with every registration and status report, printed by --version.
//
// A constant rather than package.json's version: the bundle a device downloads must carry it
// without reading files beside it, and the agent's protocol version moves on its own schedule.
export const AGENT_VERSION = "0.1.0";
