# Production image: gunicorn serving the shop; PostgreSQL and Redis come from the environment
# (DATABASE_URL, REDIS_URL, SECRET_KEY; see config.py and the README).
#
# One image, three kinds of process:
#   web      the default command below (gunicorn with gunicorn.conf.py), any number of them
#   release  `flask db upgrade`, run once per release before new web processes start, e.g.
#            docker run --rm --env-file shop.env IMAGE flask db upgrade
#   worker   the background job worker, run beside the web processes:
#            docker run --env-file shop.env IMAGE flask shop worker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHOP_CONFIG=production \
    FLASK_APP=wsgi \
    PORT=8000

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 shop && mkdir -p instance && chown -R shop instance
USER shop

EXPOSE 8000
# Liveness: /healthz answers without touching the database or Redis, so a database outage
# does not get healthy containers restarted (readiness for the load balancer is /readyz).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# gunicorn.conf.py sets workers, timeouts and the graceful drain on SIGTERM (30 s): stop
# containers with a longer grace period, e.g. `docker stop --time 35`.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
