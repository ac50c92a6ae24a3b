"""The shared core every layer imports: event schemas, odds math, configuration, engine factories."""
