# The code location of the line: `dagster api grpc` serving factory_assets.definitions.
# Also the image of run and step pods in the k8s tier. Build: docker build -t factory .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true DAGSTER_DISABLE_TELEMETRY=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    FACTORY_STATE_DIR=/var/lib/factory FACTORY_DATA_DIR=/var/lib/factory/data
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* && useradd --create-home --uid 1000 factory
WORKDIR /app

# torch first and on its own, from the CPU index: the lock pins torch==2.13.0, which this
# satisfies; from PyPI it would pull the CUDA build. Then the committed lock, then the project.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md workspace.yaml dagster.yaml ./
COPY dbt_project ./dbt_project
COPY factory_assets ./factory_assets
RUN pip install --no-deps --no-build-isolation -e . \
    && cd dbt_project && dbt parse --quiet --profiles-dir . && cd .. \
    && dg utils refresh-defs-state \
    && mkdir -p "$FACTORY_STATE_DIR" && chown -R factory /app "$FACTORY_STATE_DIR"

USER factory
EXPOSE 4000
CMD ["dagster", "api", "grpc", "-m", "factory_assets.definitions", "-h", "0.0.0.0", "-p", "4000"]
