# drlab node image: installs drlab from this repository; nothing is fetched at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . /src
RUN pip install /src \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin drlab \
    && mkdir -p /data/files /files \
    && chown -R drlab:drlab /data /files

USER drlab
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3306 9104

HEALTHCHECK --interval=2s --timeout=5s --start-period=5s --retries=15 \
    CMD ["drlab", "ping", "127.0.0.1:3306", "--timeout", "2"]

CMD ["drlab", "node", "--host", "0.0.0.0", "--port", "3306", "--data", "/data"]
