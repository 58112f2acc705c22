"""Real local nodes for tests and benchmarks: anvil (EVM), a regtest bitcoind, compiled test contracts, and a
fault-injecting JSON-RPC proxy. Tools are installed by ``scripts/setup-node-tools.sh`` into ``.tools/``."""
