from django.urls import path

from . import views

app_name = "consultations"

urlpatterns = [
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
