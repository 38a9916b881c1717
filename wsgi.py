"""gunicorn entry point: `gunicorn -k gthread -w 4 wsgi:app`."""
from app import create_app

app = create_app()
