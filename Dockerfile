FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 libvpx7 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY web ./web
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["liveshop", "serve"]
