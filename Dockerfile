# LoaXa image: one image for api, scheduler, migrate and simulator (docker-compose.yml).

# The web app's front-end libraries, from the npm registry at build time, pinned by the lockfile; the running
# app serves them itself (provincial networks are often closed). axe-core is a test tool: --omit=dev.
FROM node:20-bookworm-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --omit=dev

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LOAXA_DATA_DIR=/data \
    LOAXA_FRONTEND_DIR=/app/frontend/node_modules \
    TZ=Asia/Ho_Chi_Minh

# ffmpeg: probe/normalize audio; espeak-ng: text-to-speech; tzdata: Asia/Ho_Chi_Minh.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg espeak-ng tzdata \
    && rm -rf /var/lib/apt/lists/*

# Never run as root; /data holds the audio store and the signing key.
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin loaxa \
    && mkdir -p /data && chown loaxa:loaxa /data

WORKDIR /app
# Dependencies are pinned in pyproject.toml; copy only what the package build needs.
COPY pyproject.toml README.md ./
COPY broadcast ./broadcast
COPY audio_library ./audio_library
COPY device_sim ./device_sim
COPY mqtt_io ./mqtt_io
RUN pip install . && loaxa --help >/dev/null
COPY --from=frontend /frontend/node_modules ./frontend/node_modules

USER loaxa
VOLUME ["/data"]
EXPOSE 8000
CMD ["loaxa", "serve", "--host", "0.0.0.0"]
