from django.urls import include, path

from . import views

app_name = "voting"

urlpatterns = [
    path("consultas/<int:pk>/votar/", views.ballot, name="ballot"),
    path("consultas/<int:pk>/votar/confirmar/", views.vote_confirm, name="vote-confirm"),
    path("consultas/<int:pk>/recibo/", views.receipt_check, name="receipt-check"),
    path("consultas/<int:pk>/urna/<str:code>.csv", views.urn_receipts, name="urn-receipts"),
    path("ciclo/urnas/<int:pk>/partes/", views.urn_share, name="urn-share"),
    path("resultados/", include("voting.results_urls")),
]
