"""`bootgen matrix FILE`: many runs from one TOML file, in parallel, each checked against its expected verdict."""
