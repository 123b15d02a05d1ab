from django.urls import path

from . import views

app_name = "communes"

urlpatterns = [
    path("comunas/", views.commune_directory, name="directory"),
    path("comunas/<str:code>/", views.commune_detail, name="detail"),
    path("mis-comunas/", views.my_communes, name="my-communes"),
    path("mi-participacion/", views.my_participation, name="my-participation"),
    path("mi-participacion/mis-datos.json", views.my_data, name="my-data"),
    path("archivos/<uuid:pk>/", views.file_download, name="file-download"),
    path("verificaciones/", views.claims_queue, name="claims-queue"),
    path("verificaciones/<int:pk>/decidir/", views.claim_decide, name="claim-decide"),
]
