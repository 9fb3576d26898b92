"""Tools around the pipeline: `bootgen doctor` (is this host ready?) and `scripts/bench` (how fast?)."""
