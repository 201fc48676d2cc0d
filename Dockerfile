# Production image: gunicorn serving the shop; PostgreSQL and Redis come from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHOP_CONFIG=production \
    FLASK_APP=wsgi

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 shop && mkdir -p instance && chown -R shop instance
USER shop

EXPOSE 8000
# Run `flask db upgrade` once per release (e.g. a release job) before starting new workers.
# Job workers run from the same image beside the web processes (as many as you like, same
# environment, REDIS_URL required); they stop gracefully on SIGTERM:
#   docker run --env-file shop.env IMAGE flask shop worker
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "wsgi:app"]
