# Momentic API image: `docker build -t momentic .`, run with docker-compose.yml.
#
# Why an editable install: adapters/postgres/migrate.py finds the yoyo files at
# Path(__file__).resolve().parents[2] / "migrations", i.e. next to the packages in the
# source tree. A plain `pip install /app` would copy the packages into site-packages,
# where parents[2] is .../lib/python3.11 and there are no migrations. So the source tree
# lives at /app (packages and migrations/ side by side) and `pip install --no-deps -e /app`
# only adds the `momentic` console script and an import hook pointing at /app. Both the
# venv and /app are built here and copied to the same paths in the runtime stage, so the
# absolute paths the editable install recorded stay true.

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --upgrade pip setuptools \
 && pip install -r /tmp/requirements.txt

COPY momentic_core ./momentic_core
COPY adapters ./adapters
COPY migrations ./migrations
RUN pip install --no-deps -e /app \
 && python -m compileall -q /app/momentic_core /app/adapters \
 && momentic --help > /dev/null


FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOMENTIC_CONTAINER=1 \
    MOMENTIC_HOST=0.0.0.0 \
    MOMENTIC_PORT=8080 \
    MOMENTIC_DATA_DIR=/var/lib/momentic

RUN groupadd --system --gid 10001 momentic \
 && useradd --system --uid 10001 --gid momentic --home-dir /var/lib/momentic \
        --no-create-home --shell /usr/sbin/nologin momentic \
 && install -d -o momentic -g momentic -m 0750 /var/lib/momentic

# Code and venv stay owned by root: the app user can read them, not change them.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app

USER momentic:momentic
EXPOSE 8080

# /healthz answers while the process is alive; readiness (database) is /readyz.
# urlopen raises on a refused connection or a non-2xx status, so the exit code is not 0.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MOMENTIC_PORT', '8080'), timeout=4)"]

# `serve` applies pending migrations under yoyo's lock, then serves.
CMD ["momentic", "serve"]
