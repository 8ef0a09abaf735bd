# Momentic API image: `docker build -t momentic .`, run with docker-compose.yml.
#
# The builder installs the hashed runtime lock (requirements/runtime.txt: no dev tools, no
# embedded PostgreSQL; the tracing extra, which stays off and unimported unless OTEL_*
# variables switch it on), builds the project's wheel and installs it: the wheel carries the
# migrations (as adapters/postgres/migrations) and the admin page's static files, so the
# runtime stage needs nothing but the venv. No source tree, no editable install.
#
# Both stages start from one base, pinned by patch tag and the digest of its multi-platform
# index (README "Image pins"; scripts/pin_images.sh re-reads and checks it).
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm@sha256:2333bd330d12de02514770b3585cad313644316047cdee24a7acfdece6de6efb

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from the lock alone, so a code change reuses this layer.
# build.txt pins pip and setuptools; the wheel is then built without build isolation, so
# no tool is fetched unpinned.
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN pip install --require-hashes -r requirements/build.txt \
 && pip install --require-hashes -r requirements/runtime.txt

COPY pyproject.toml setup.py ./
COPY momentic_core ./momentic_core
COPY adapters ./adapters
COPY migrations ./migrations
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && pip install --no-deps /wheels/momentic-*.whl \
 && cd / \
 && momentic --help > /dev/null \
 && python -c "from adapters.postgres.migrate import MIGRATIONS_DIR as d; assert 'site-packages' in str(d) and any(d.glob('*.sql')), d"


FROM ${PYTHON_IMAGE} AS runtime
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

# The venv (code included) stays owned by root: the app user can read it, not change it.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /var/lib/momentic

USER momentic:momentic
EXPOSE 8080

# /healthz answers while the process is alive; readiness (database, storage) is /readyz.
# urlopen raises on a refused connection or a non-2xx status, so the exit code is not 0.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MOMENTIC_PORT', '8080'), timeout=4)"]

# `serve` applies pending migrations under yoyo's lock, then serves.
CMD ["momentic", "serve"]
