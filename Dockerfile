# syntax=docker/dockerfile:1
# The image of `kai serve`, as helm/kai runs it.
#
# NOT BUILT HERE: the machines kai is developed on have no container engine, so this file has
# never been built or run. tests/helm/test_kai_chart.py only checks that it agrees with the chart
# (user, port, command). Build and load it yourself:
#   docker build -t kai:0.1.0 .
#   minikube image load kai:0.1.0        # or: kind load docker-image kai:0.1.0
#
# Two stages: the first installs kai and its dependencies (`pip install .`, pinned by
# constraints.txt) into a virtual environment; the second copies only that environment onto a
# clean Python image and runs it as the unprivileged user 10001, with nothing to write outside
# the volumes the chart mounts (state, /tmp).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/kai
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY agent ./agent
COPY tools ./tools
COPY sandbox ./sandbox
COPY prompts ./prompts
RUN /opt/kai/bin/pip install -c constraints.txt .

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 kai \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin kai \
 && mkdir -p /var/lib/kai \
 && chown 10001:10001 /var/lib/kai
COPY --from=build /opt/kai /opt/kai
# The chart the helm_* tools upgrade and roll back by path (./helm/todo-app from /app), found
# through KAI_CHARTS when a release names it. (helm/kai stays out: its policy file is a symlink.)
COPY helm/todo-app /app/helm/todo-app
WORKDIR /app
ENV PATH=/opt/kai/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    KAI_STATE_DIR=/var/lib/kai \
    KAI_CHARTS=/app/helm
USER 10001
EXPOSE 8080
ENTRYPOINT ["kai"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
