"""WSGI entry point: what gunicorn and ``flask --app wsgi`` load."""

from portale import create_app

app = create_app()
