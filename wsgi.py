"""WSGI entry point: what gunicorn and ``flask --app wsgi`` load."""

from portale import create_app

app = create_app()

if app.config["EMBEDDED_WORKER"]:
    # Small installations drain the outbox inside the web process; at scale set
    # PORTALE_EMBEDDED_WORKER=0 and run Celery workers instead.
    from portale.outbox.worker import start_embedded_worker

    start_embedded_worker(app)
