"""The web interface: a REST API under /api/v1 and server-rendered pages, both over services.advice.

`create_app()` in app.py builds the FastAPI application; each router lives in its own module."""
