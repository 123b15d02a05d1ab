"""The demo: realistic data on the real territory, built through the same services people use.

The top layer: it may import every app, and nothing imports it. ``manage.py seed_demo`` is its
doorway; each module here builds one subject, in the order the command calls them.
"""
