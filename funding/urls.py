from django.urls import include, path

from . import views

app_name = "funding"

urlpatterns = [
    # The public money trail (funding/public_urls.py): rounds, funders, projects, open data.
    path("dinero/", include("funding.public_urls")),
    # The commune's side: its spokespeople's money pages.
    path("mis-comunas/<str:code>/dinero/", views.commune_money, name="commune-money"),
    path(
        "mis-comunas/dinero/proyectos/<int:pk>/",
        views.project_workspace,
        name="project-workspace",
    ),
    path(
        "mis-comunas/dinero/proyectos/<int:pk>/solicitar/",
        views.disbursement_request,
        name="disbursement-request",
    ),
    path("mis-comunas/dinero/proyectos/<int:pk>/recibos/", views.receipt_add, name="receipt-add"),
    path("mis-comunas/dinero/proyectos/<int:pk>/avances/", views.progress_add, name="progress-add"),
    path(
        "mis-comunas/dinero/proyectos/<int:pk>/cierre/",
        views.closing_report_submit,
        name="closing-report-submit",
    ),
    path("mis-comunas/dinero/proyectos/<int:pk>/senalar/", views.flag_raise, name="flag-raise"),
    # The payers' side: approvals, transfers and pledges.
    path("pagos/", views.payments, name="payments"),
    path("pagos/<int:pk>/", views.disbursement, name="disbursement"),
    path("pagos/<int:pk>/aprobar/", views.disbursement_approve, name="disbursement-approve"),
    path("pagos/<int:pk>/rechazar/", views.disbursement_reject, name="disbursement-reject"),
    path(
        "pagos/<int:pk>/transferencia/",
        views.disbursement_transfer,
        name="disbursement-transfer",
    ),
    path("pagos/compromisos/", views.pledge, name="pledge"),
    # Ministry oversight: flags, closing reports, the ledger.
    path("supervision/", views.oversight, name="oversight"),
    path("supervision/senalamientos/<int:pk>/responder/", views.flag_answer, name="flag-answer"),
    path(
        "supervision/cierres/<int:pk>/decidir/",
        views.closing_report_decide,
        name="closing-report-decide",
    ),
    path("supervision/proyectos/<int:pk>/libro/", views.project_ledger, name="project-ledger"),
    path("supervision/libro/<int:pk>/revertir/", views.ledger_reverse, name="ledger-reverse"),
]
