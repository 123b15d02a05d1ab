"""The public results (built in voting/results_views.py)."""

urlpatterns = []
