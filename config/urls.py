from django.contrib import admin
from django.urls import include, path

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("communes.urls")),
    path("", include("consultations.urls")),
    path("", include("voting.urls")),
    path("", include("funding.urls")),
    path("", include("cycle.urls")),
    path("cuenta/", include("accounts.urls")),
    path("cuentas/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# A database that is away for a moment answers 503 "try again", not 500 (config/faults.py).
handler500 = "config.faults.server_error"
