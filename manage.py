#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # manage.py is the developer's entry point: development mode unless DEBUG is set. Production
    # sets DEBUG=0 (see .env.example and docker-compose.yml); the web server (wsgi/asgi) and the
    # Celery processes never take this default, so they still require a real SECRET_KEY.
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
