from django.urls import include, path

from . import table_views, views

app_name = "voting"

urlpatterns = [
    path("consultas/<int:pk>/votar/", views.ballot, name="ballot"),
    path("consultas/<int:pk>/votar/confirmar/", views.vote_confirm, name="vote-confirm"),
    path("consultas/<int:pk>/recibo/", views.receipt_check, name="receipt-check"),
    path("donde-voto/", views.where_to_vote_page, name="where-to-vote"),
    path("consultas/<int:pk>/urna/<str:code>.csv", views.urn_receipts, name="urn-receipts"),
    path("resultados/", include("voting.results_urls")),
    # Voting tables: the officer's table, staff's review of sheets, the admin's tables.
    path("mesa/", table_views.officer_home, name="officer-home"),
    path("mesa/<int:pk>/", table_views.table, name="table"),
    path("mesa/<int:pk>/marcar/", table_views.table_mark, name="table-mark"),
    path("mesa/<int:pk>/acta/", table_views.table_sheet, name="table-sheet"),
    path("actas/", table_views.sheet_queue, name="sheet-queue"),
    path("actas/<int:pk>/", table_views.sheet_review, name="sheet-review"),
    path("ciclo/mesas/consulta/<int:pk>/", table_views.round_tables, name="round-tables"),
    path(
        "ciclo/mesas/consulta/<int:pk>/importar/", table_views.tables_import, name="tables-import"
    ),
    path(
        "ciclo/mesas/asignaciones/<int:pk>/quitar/",
        table_views.officer_unassign,
        name="officer-unassign",
    ),
]
