# The project's own image for the docker-compose stack: the same two-command set-up as a
# bare machine (Python 3.11, JDK 17, Maven), with dependencies and jars baked in.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven make git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN make setup
ENV PATH="/app/.venv/bin:${PATH}"
ENTRYPOINT ["lakehouse"]
CMD ["--help"]
