from django.urls import path

from . import views

app_name = "consultations"

urlpatterns = [
    path("ciclo/consultas/", views.round_list, name="round-list"),
    path("ciclo/consultas/<int:pk>/", views.round_detail, name="round-detail"),
    path("ciclo/consultas/<int:pk>/editar/", views.round_edit, name="round-edit"),
    path("ciclo/consultas/<int:pk>/programar/", views.round_schedule, name="round-schedule"),
    path("ciclo/consultas/<int:pk>/excluir/", views.round_exclude, name="round-exclude"),
    path("ciclo/consultas/<int:pk>/<slug:action>/", views.round_move, name="round-move"),
    path("consultas/<int:pk>/", views.round_public, name="round-public"),
    path("comunas/<str:code>/consultas/<int:pk>/", views.commune_round, name="commune-round"),
    path(
        "comunas/<str:code>/consultas/<int:pk>/asambleas/",
        views.assembly_create,
        name="assembly-create",
    ),
    path(
        "comunas/<str:code>/consultas/<int:pk>/propuestas/",
        views.project_create,
        name="project-create",
    ),
    path("asambleas/<int:pk>/problemas/", views.problem_add, name="problem-add"),
    path("problemas/<int:pk>/mover/", views.problem_move, name="problem-move"),
    path("propuestas/<int:pk>/", views.project_edit, name="project-edit"),
    path("propuestas/<int:pk>/borrador/", views.project_withdraw, name="project-withdraw"),
    path("propuestas/<int:pk>/fotos/", views.project_photo_add, name="project-photo-add"),
    path("validacion/", views.validation_queue, name="validation-queue"),
    path("validacion/<int:pk>/decidir/", views.project_decide, name="project-decide"),
]
