# cimi-gateway in a container: gunicorn serving the Falcon app.
#   docker build -t cimi-gateway .
#   docker run -p 8000:8000 cimi-gateway                       # the mock cloud
#   docker run -p 8000:8000 -v $PWD/my.toml:/etc/cimi-gateway.toml \
#       -e CIMI_GATEWAY_CONFIG=/etc/cimi-gateway.toml cimi-gateway
#
# NOTE: the default is a demo. The mock cloud's credentials (mockuser /
# mockpassword) are public, and the container listens on 0.0.0.0: anyone who
# reaches the port drives it. Mount your own config before exposing it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CIMI_GATEWAY_STATE=/var/lib/cimi-gateway

WORKDIR /srv/cimi-gateway
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY providers ./providers
COPY config ./config
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /var/lib/cimi-gateway --create-home gateway

USER gateway
# The store (templates, jobs, the mock cloud's state) outlives the container.
VOLUME ["/var/lib/cimi-gateway"]
EXPOSE 8000
# /healthz needs no credentials and asks no cloud; the image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Inside a container the gateway must listen beyond loopback.
CMD ["cimi-gateway", "serve", "--bind", "0.0.0.0:8000"]
