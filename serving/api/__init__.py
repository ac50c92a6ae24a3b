"""The query and ingestion API over the serving layer (``serving.api.app.create_app``)."""
