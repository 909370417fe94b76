"""factory: an AI factory on Dagster."""
