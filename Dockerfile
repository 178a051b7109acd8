# One image for engine, console, clock and the migrate step; compose picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump/pg_restore for the clock's backups; bookworm's client is PostgreSQL 15, like the server.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 libervia \
    && useradd --system --uid 10001 --gid libervia --home-dir /var/lib/libervia \
       --shell /usr/sbin/nologin libervia

WORKDIR /app
COPY pyproject.toml README.md ./
COPY functions ./functions
COPY governance ./governance
COPY tenants ./tenants
COPY ledger ./ledger
COPY idl ./idl
COPY portal ./portal
COPY agent ./agent
COPY bench ./bench
RUN pip install .

ENV LIBERVIA_DATA_DIR=/var/lib/libervia/data \
    LIBERVIA_BACKUP_DIR=/var/lib/libervia/backups \
    AGENT_DIST_DIR=/var/lib/libervia/dist

USER libervia
EXPOSE 8600 8700
CMD ["libervia", "--help"]
