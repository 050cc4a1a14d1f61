"""What is sent and when (SPEC §3): messages, dispatches, sends. Built by the dispatch issue."""
