from django.urls import path

from . import views

app_name = "cycle"

urlpatterns = [
    path("ciclo/consultas/", views.round_list, name="round-list"),
    path("ciclo/consultas/<int:pk>/", views.round_detail, name="round-detail"),
    path("ciclo/consultas/<int:pk>/editar/", views.round_edit, name="round-edit"),
    path("ciclo/consultas/<int:pk>/programar/", views.round_schedule, name="round-schedule"),
    path("ciclo/consultas/<int:pk>/excluir/", views.round_exclude, name="round-exclude"),
    path("ciclo/consultas/<int:pk>/<slug:action>/", views.round_move, name="round-move"),
]
