// Hardhat is used only as a second, independent EVM node for the chain tests
// (`npx hardhat node --hostname 127.0.0.1`); contracts are compiled by compile.js.
module.exports = {
  solidity: "0.8.37",
  networks: { hardhat: { chainId: 31337, hardfork: "cancun" } },
};
