"""miner: object-centric process mining for the Dutch asylum chain."""
