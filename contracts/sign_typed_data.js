#!/usr/bin/env node
// Signs EIP-712 typed data with ethers.js, as a standard wallet would (eth_signTypedData_v4).
// Reads {"privateKey", "typedData"} as JSON on stdin; prints the 0x signature.
// The tests use it to show that signatures from a wallet library are accepted unchanged.
"use strict";
const { Wallet } = require("ethers");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const { privateKey, typedData } = JSON.parse(input);
  const types = { ...typedData.types };
  delete types.EIP712Domain; // ethers derives the domain type from the domain itself
  const signature = await new Wallet(privateKey).signTypedData(typedData.domain, types, typedData.message);
  process.stdout.write(signature + "\n");
});
