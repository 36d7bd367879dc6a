# The opsgraph server image (`opsgraph serve`; the same image runs the poller role and
# `opsgraph-agent` in the chart's DaemonSet). Build: docker build -t opsgraph .
#
# Two stages: the builder turns the project and its dependencies into wheels and
# installs them into a venv; the final image gets that venv and nothing else (no pip
# cache, no compiler, no source tree).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Every server dependency ships manylinux wheels for CPython 3.11 (amd64 and arm64),
# so the builder needs no compiler either; pip fails loudly if that ever changes.
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY api ./api
COPY cmdb ./cmdb
COPY collector ./collector
COPY rules ./rules
RUN python -m pip wheel --wheel-dir /wheels ".[server]" \
 && python -m venv /opt/opsgraph \
 && /opt/opsgraph/bin/pip install --no-index --find-links /wheels "opsgraph[server]" \
 && /opt/opsgraph/bin/pip uninstall --yes pip setuptools wheel

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="opsgraph" \
      org.opencontainers.image.description="Monitoring-integrated CMDB and auto-incident system" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric uid/gid so Kubernetes can check runAsNonRoot without a passwd lookup.
RUN groupadd --system --gid 10001 opsgraph \
 && useradd --system --uid 10001 --gid opsgraph --home-dir /var/lib/opsgraph \
        --no-create-home --shell /usr/sbin/nologin opsgraph \
 && install -d -o opsgraph -g opsgraph -m 0750 /var/lib/opsgraph
COPY --from=builder /opt/opsgraph /opt/opsgraph
COPY etc/rules.yaml etc/service-model.example.yaml /etc/opsgraph/
# Listen on every interface inside the container; the store defaults to an SQLite
# file in the writable data directory (the chart overrides both through values).
ENV PATH=/opt/opsgraph/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPSGRAPH_LISTEN_HOST=0.0.0.0 \
    OPSGRAPH_LISTEN_PORT=8080 \
    OPSGRAPH_STORE_URL=sqlite:////var/lib/opsgraph/opsgraph.db \
    OPSGRAPH_RULES_FILE=/etc/opsgraph/rules.yaml
WORKDIR /var/lib/opsgraph
USER 10001:10001
EXPOSE 8080
# Python's own HTTP client: the slim image has no curl or wget, and needs none.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('OPSGRAPH_LISTEN_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["opsgraph"]
CMD ["serve"]
