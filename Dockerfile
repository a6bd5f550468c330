# One image for every service: `eventually alpha|beta|charlie|overlord`.
# docker-compose.yml builds it once and picks the service by command.

# Build: SQLite is mattn/go-sqlite3, which needs cgo and a C compiler; the
# Debian-based Go image has gcc.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/eventually ./cmd/eventually

# Run: the same Debian release as the builder, so the binary finds the glibc
# it was linked against; curl for the health checks.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /app eventually \
 && mkdir -p /data /logs \
 && chown eventually:eventually /data /logs
COPY --from=build /out/eventually /usr/local/bin/eventually
WORKDIR /app
USER eventually
ENV EVENTUALLY_DATA_DIR=/data \
    EVENTUALLY_LOG_DIR=/logs
VOLUME ["/data", "/logs"]
ENTRYPOINT ["eventually"]
CMD ["help"]
