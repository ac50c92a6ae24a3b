"""Infrastructure as code: JVM artifacts, Kafka topics, and the local stack that runs them."""
