from django.urls import path

from . import commissioner_views, views

app_name = "cycle"

urlpatterns = [
    path("ciclo/consultas/", views.round_list, name="round-list"),
    path("ciclo/consultas/<int:pk>/", views.round_detail, name="round-detail"),
    path("ciclo/consultas/<int:pk>/editar/", views.round_edit, name="round-edit"),
    path("ciclo/consultas/<int:pk>/programar/", views.round_schedule, name="round-schedule"),
    path("ciclo/consultas/<int:pk>/excluir/", views.round_exclude, name="round-exclude"),
    # The round's electoral commissioners, appointed by the cycle admin before voting opens.
    path(
        "ciclo/consultas/<int:pk>/comisionados/",
        views.commissioner_appoint,
        name="commissioner-appoint",
    ),
    path(
        "ciclo/comisionados/<int:pk>/quitar/",
        views.commissioner_remove,
        name="commissioner-remove",
    ),
    path("ciclo/consultas/<int:pk>/<slug:action>/", views.round_move, name="round-move"),
    # An electoral commissioner's own page: only the person appointed.
    path("ronda/<int:pk>/comisionado/", commissioner_views.commissioner_page, name="commissioner"),
    path(
        "ronda/<int:pk>/comisionado/subir/",
        commissioner_views.commissioner_upload,
        name="commissioner-upload",
    ),
    path(
        "ronda/<int:pk>/comisionado/<slug:what>.json",
        commissioner_views.commissioner_download,
        name="commissioner-download",
    ),
]
