"""Kafka producers for the game, odds, weather and news feeds, replay, and the market simulator."""
