import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.limits import unread_body_drained

# A refused body is read to its end before the answer goes out (config/limits.py).
application = unread_body_drained(get_wsgi_application())
