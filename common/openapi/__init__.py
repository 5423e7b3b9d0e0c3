"""OpenAPI: the AutoSchema every view uses (schema.py) and the schema/docs endpoints (views.py)."""
