#!/usr/bin/env node
// Compiles ConsentRegistry.sol with the pinned solcjs and writes the artifact that the
// Python side loads: ABI, bytecode and the published EIP-712 domain and types.
// Usage: node compile.js [OUTPUT]   (default: build/ConsentRegistry.json)
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const here = __dirname;
const source = "ConsentRegistry.sol";
const output = path.resolve(process.argv[2] || path.join(here, "build", "ConsentRegistry.json"));

const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "devdoc", "userdoc"] } },
};

function findImports(importPath) {
  const file = path.join(here, "node_modules", importPath);
  if (!fs.existsSync(file)) return { error: `import not found: ${importPath}` };
  return { contents: fs.readFileSync(file, "utf8") };
}

const input = {
  language: "Solidity",
  sources: { [source]: { content: fs.readFileSync(path.join(here, source), "utf8") } },
  settings,
};
const result = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (result.errors || []).filter((e) => e.severity === "error");
for (const e of result.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const contract = result.contracts[source].ConsentRegistry;
const artifact = {
  contractName: "ConsentRegistry",
  compiler: { name: "solc-js", version: solc.version(), settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion } },
  eip712: {
    domain: { name: "MyData ConsentRegistry", version: "1" },
    domainFields: ["name", "version", "chainId", "verifyingContract"],
    types: {
      Grant: [
        { name: "consentId", type: "bytes32" },
        { name: "commitment", type: "bytes32" },
        { name: "expiresAt", type: "uint64" },
      ],
      Revoke: [{ name: "consentId", type: "bytes32" }],
    },
  },
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
  deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
  devdoc: contract.devdoc,
  userdoc: contract.userdoc,
};
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, JSON.stringify(artifact, null, 2) + "\n");
console.log(`wrote ${output}`);
