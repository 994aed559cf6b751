// Node-RED settings for the ingest benchmark's peer (`assetwatch bench ingest`).
// The editor and admin API are off; pg and pg-copy-streams reach the function
// node through the global context, the usual way integrators wire libraries in.
const path = require("path");
const modules = process.env.NODERED_MODULES;
module.exports = {
  uiPort: Number(process.env.NODERED_PORT || 1881),
  uiHost: "127.0.0.1",
  flowFile: process.env.NODERED_FLOWS,
  httpAdminRoot: false,
  httpNodeRoot: false,
  credentialSecret: false,
  functionGlobalContext: {
    pg: require(path.join(modules, "pg")),
    copyFrom: require(path.join(modules, "pg-copy-streams")).from,
  },
  logging: { console: { level: "warn", metrics: false, audit: false } },
};
