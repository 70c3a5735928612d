# One image for the portal, the worker and the emulator; docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# git: the emulator's CodeCommit serves repositories with git http-backend and zips commits with git archive.
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY core ./core
COPY portal ./portal
COPY worker ./worker
COPY emulator ./emulator
COPY templates_cfn ./templates_cfn
RUN pip install '.[emulator]' && useradd --create-home --uid 10001 portal
USER portal
EXPOSE 8000 4566
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "portal.wsgi:app"]
