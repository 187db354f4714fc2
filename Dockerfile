# The image the manifests in k8s/ run: `gandan serve` by default, `gandan migrate` for the Job.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
RUN pip install --no-cache-dir uv && useradd --uid 10001 --create-home gandan
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY api ./api
COPY domain ./domain
COPY adapters ./adapters
RUN uv sync --frozen --no-dev && mkdir -p /app/var && chown gandan /app/var
USER gandan
EXPOSE 8000
ENTRYPOINT ["/app/.venv/bin/gandan"]
CMD ["serve"]
