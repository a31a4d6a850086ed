# The VigilOps server with the web UI embedded. Build: docker build -t vigilops .
FROM node:20-bookworm-slim AS ui
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=ui /src/frontend/dist frontend/dist
RUN VIGILOPS_SKIP_UI_BUILD=1 cargo build --release -p vigilops-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /data vigilops \
    && mkdir -p /data && chown vigilops /data
COPY --from=build /src/target/release/vigilops-server /usr/local/bin/vigilops-server
USER vigilops
ENV VIGILOPS_LISTEN=0.0.0.0:8000 VIGILOPS_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["vigilops-server"]
