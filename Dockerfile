# The web console's npm dependencies (socket.io client) are installed in a Node stage.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 libvpx7 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY web ./web
COPY --from=web /web/node_modules ./web/node_modules
RUN pip install --no-cache-dir .
ENV LIVESHOP_WEB_DIR=/app/web
EXPOSE 8000
CMD ["liveshop", "serve"]
