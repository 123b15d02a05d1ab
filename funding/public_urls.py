"""The public money trail (built in funding/public_views.py), under /dinero/."""

from django.urls import path

from . import public_views as views

urlpatterns = [
    path("", views.money_list, name="money-list"),
    path("<int:pk>/", views.money_round, name="money-round"),
    path(
        "<int:pk>/proyectos.csv",
        views.money_round_download,
        {"kind": "csv"},
        name="money-round-csv",
    ),
    path(
        "<int:pk>/proyectos.json",
        views.money_round_download,
        {"kind": "json"},
        name="money-round-json",
    ),
    path("proyectos/<int:pk>/", views.money_project, name="money-project"),
]
