# SIPAS dashboard: several app processes behind nginx in one container (see README "Deployment").
#   docker build -t sipas .
#   docker run -p 8080:8080 -v /srv/sipas/releases:/app/releases:ro -e SIPAS_PROCESSES=2 sipas
FROM python:3.11-slim

# Debian's Chromium (image export through kaleido), Noto fonts (Vietnamese in exported images), nginx.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-core nginx-light \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

# The demo release is built into the image; mount real releases over /app/releases (read-only).
RUN python -m sipas_data demo && chmod -R a+rX releases \
 && useradd --create-home --uid 10001 sipas \
 && mkdir -p /tmp/sipas-run && chown -R sipas /tmp/sipas-run
USER sipas

ENV SIPAS_LISTEN=8080 \
    SIPAS_APP_PORT=8501 \
    SIPAS_RUNTIME=/tmp/sipas-run \
    PYTHONUNBUFFERED=1
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_stcore/health', timeout=4)"

CMD ["deploy/run.sh"]
