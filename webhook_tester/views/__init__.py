"""Views of the Webhook Tester: the REST API (`api`), exports (`export`) and the inspector page (`pages`)."""
