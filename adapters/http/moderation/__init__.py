"""Reports, the case queue and its decisions, appeals, bans and suspensions."""
