# PyNet server image (docs/container.md).
#
#   docker build -t pynet .
#   docker run -d -p 5050:5050 -v pynet-data:/data pynet
#
# Two stages. "build" compiles a static binary with the Go toolchain; the final
# stage is FROM scratch and holds only that binary, a passwd/group entry for
# uid 65532, a CA bundle and the /data directory.
#
# Why scratch and not gcr.io/distroless/static-debian12:nonroot: both have no
# shell and run as 65532; distroless adds tzdata and its own passwd/CA files,
# which pynet does not need (it logs in UTC and only needs CAs for a tls://
# NATS URL without -cluster-tls-ca, copied below). scratch needs no image pull
# for the final stage, so scripts/container-check.sh can build and run this
# very final stage on a machine without a registry or a Docker daemon.
#
# Contract between the stages: the build stage leaves in /out exactly
# pynet, ca-certificates.crt and an empty data/ directory.
# scripts/container-check.sh replaces the build stage (and only it) with
# "FROM scratch AS build" plus those files built on the host; keep the name
# "build" and that contract.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: this layer stays cached while only the sources change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pynet ./cmd/pynet \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt \
 && mkdir /out/data

FROM scratch
COPY deploy/image/passwd deploy/image/group /etc/
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/pynet /pynet
# The volume's mount point belongs to the server's uid, so a fresh named
# volume starts writable by it (Docker copies this ownership into it).
COPY --from=build --chown=65532:65532 /out/data /data
# scratch has no /tmp: SQLite (and Go's os.TempDir) use TMPDIR for temporary
# files.
ENV TMPDIR=/data
WORKDIR /data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 5050
# Exec form, no shell: the binary checks itself (a ping answered by a pong).
# It assumes the server listens on port 5050 of the container.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/pynet", "health", "-addr", "127.0.0.1:5050", "-timeout", "3s"]
ENTRYPOINT ["/pynet"]
# :5050, not the default 127.0.0.1:5050: in a container the loopback address
# is unreachable from outside. Compose replaces this CMD for cluster nodes.
CMD ["server", "-addr", ":5050", "-data", "/data"]
