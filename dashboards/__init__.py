"""Grafana dashboards as code for the serving layer, reading Druid.

Built with the Grafana Foundation SDK (``dashboards.registry``), written to ``dashboards/json`` by
``python -m dashboards.build`` and provisioned into Grafana from ``dashboards/provisioning``.
``dashboards.queries`` turns every panel's SQL back into executable Druid SQL for tests.
"""
