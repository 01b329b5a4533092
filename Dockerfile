# Production image for the worker and the API (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY calendars ./calendars
COPY models ./models
COPY streams ./streams
COPY config ./config
COPY api ./api
COPY cli ./cli
COPY delivery ./delivery
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["catalog-tracker"]
