"""The outside world: the database, files (CSV, XLSX, Word), MQTT, SMS, webhooks, metrics, the text model."""
