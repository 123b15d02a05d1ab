# Production image: gunicorn serves the app, whitenoise its static files.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 comunas
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
COPY --chown=comunas:comunas . .
RUN SECRET_KEY=build-only DEBUG=0 python manage.py collectstatic --noinput \
    && SECRET_KEY=build-only DEBUG=0 python manage.py compilemessages --ignore '.venv/*'
USER comunas
EXPOSE 8000
# config/gunicorn.py: gthread, 2 workers of 4 threads, no access log (it would carry
# whole query strings); HOST and PORT choose where it listens.
ENV HOST=0.0.0.0 PORT=8000
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]
