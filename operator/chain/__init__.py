"""The operator's side of the chain: the registry deployment, the follower that mirrors chain events into the log, and the anchorer."""
