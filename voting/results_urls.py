"""The public results (built in voting/results_views.py), under /resultados/."""

from django.urls import path

from . import results_views as views

urlpatterns = [
    path("", views.results_list, name="results-list"),
    path("<int:pk>/", views.results_round, name="results-round"),
    path("<int:pk>/estados/<str:code>/", views.results_state, name="results-state"),
    path(
        "<int:pk>/municipios/<str:code>/",
        views.results_municipality,
        name="results-municipality",
    ),
    path("<int:pk>/comunas/<str:code>/", views.results_commune, name="results-commune"),
    path(
        "<int:pk>/proyectos.csv",
        views.results_projects_download,
        {"kind": "csv"},
        name="results-projects-csv",
    ),
    path(
        "<int:pk>/proyectos.json",
        views.results_projects_download,
        {"kind": "json"},
        name="results-projects-json",
    ),
    path(
        "<int:pk>/comunas.csv",
        views.results_communes_download,
        {"kind": "csv"},
        name="results-communes-csv",
    ),
    path(
        "<int:pk>/comunas.json",
        views.results_communes_download,
        {"kind": "json"},
        name="results-communes-json",
    ),
    path(
        "<int:pk>/pabulib/<str:code>.pb",
        views.results_pabulib_commune,
        name="results-pabulib-commune",
    ),
    path("<int:pk>/pabulib.zip", views.results_pabulib_zip, name="results-pabulib-zip"),
    # The urn (issue 14): an index, and each commune's ballots, sums and partial decryptions.
    path("<int:pk>/urna/", views.results_urn_index, name="results-urn-index"),
    path(
        "<int:pk>/urna/<str:code>.json.gz",
        views.results_urn_commune,
        name="results-urn-commune",
    ),
    path(
        "<int:pk>/mesas.csv",
        views.results_tables_download,
        {"kind": "csv"},
        name="results-tables-csv",
    ),
    path(
        "<int:pk>/mesas.json",
        views.results_tables_download,
        {"kind": "json"},
        name="results-tables-json",
    ),
]
