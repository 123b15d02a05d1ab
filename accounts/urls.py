from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("inicio/", views.home_for_user, name="home-for-user"),
    path("avisos/", views.voting_notice, name="voting-notice"),
    path("alarmas-de-acceso/", views.signin_alarms, name="signin-alarms"),
]
