# One image for every mdmflow process; the compose file picks the command (worker, bridge, ...).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mdmflow ./mdmflow
COPY worker.py ./
RUN pip install . && useradd --system --uid 10001 mdmflow
USER mdmflow
EXPOSE 9003 9464
ENTRYPOINT ["mdmflow"]
CMD ["worker"]
