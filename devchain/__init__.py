"""Development chains, for `mydata demo`, `mydata up` and the tests only: the embedded py-evm
chain served over JSON-RPC (embedded) and the launcher of it or of a Hardhat node (nodes)."""
