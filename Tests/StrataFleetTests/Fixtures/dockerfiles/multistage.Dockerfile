# syntax=docker/dockerfile:1.7
# check=skip=JSONArgsRecommended

ARG REGISTRY=ghcr.io/acme
ARG PYTHON_VERSION=3.11 DEBIAN=bookworm
ARG BASE=${REGISTRY}/base-python:${PYTHON_VERSION}-${DEBIAN}

FROM --platform=$BUILDPLATFORM ${BASE} AS Builder
ARG PIP_INDEX
WORKDIR /src
COPY --chown=app:app requirements.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=netrc \
    pip install -r requirements.txt \
    # a comment inside a continuation
    && pip check

FROM builder AS test
RUN pytest -q

FROM ${REGISTRY}/base-utils:latest AS runtime
ENV APP_HOME=/app PATH="/app/bin:$PATH"
ENV LEGACY the whole rest
LABEL org.opencontainers.image.title="model ops" version=1
COPY --from=builder --link /src /app
EXPOSE 7212/tcp 9090
USER app
HEALTHCHECK --interval=30s --retries=3 CMD ["curl", "-f", "http://localhost:7212/health"]
ENTRYPOINT ["/app/bin/serve"]
CMD ["--port", "7212"]
