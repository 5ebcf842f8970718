# cimi-gateway in a container: gunicorn serving the Falcon app.
#   docker build -t cimi-gateway .
#   docker run -p 8000:8000 cimi-gateway                       # the mock cloud
#   docker run -p 8000:8000 -v $PWD/my.toml:/etc/cimi-gateway.toml \
#       -e CIMI_GATEWAY_CONFIG=/etc/cimi-gateway.toml cimi-gateway
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
EXPOSE 8000
# Inside a container the gateway must listen beyond loopback.
CMD ["cimi-gateway", "serve", "--bind", "0.0.0.0:8000"]
