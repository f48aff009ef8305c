-- Hookgate's third operational event type (README, "Operational events"): a webhook's failure
-- streak has reached HOOKGATE_FAILING_AFTER_FAILURES, before it would be disabled. Negative id,
-- as the others; a store that already holds a type of that name keeps it.
-- InsertData
INSERT INTO "event_types" ("id", "name", "description", "sample_data", "scopes", "json_schema", "json_schema_version")
VALUES
  (-3, 'hookgate.webhook.failing',
   'Hookgate: one of your webhooks has failed HOOKGATE_FAILING_AFTER_FAILURES attempts in a row (sent once per failure streak; a success starts a new one), before it would be disabled. Sent only to the service that owns the webhook.',
   '{"webhookId": "1", "url": "https://your-app.com/webhook", "serviceId": "1", "consecutiveFailures": 5, "failingSince": "2026-01-01T00:00:00.000Z", "lastStatus": 500, "lastError": "HTTP_STATUS: HTTP 500", "reportedAt": "2026-01-01T00:05:00.000Z"}',
   '{}',
   '{"type": "object", "required": ["webhookId", "url", "serviceId", "consecutiveFailures", "failingSince", "lastStatus", "lastError", "reportedAt"], "properties": {"webhookId": {"type": "string"}, "url": {"type": "string"}, "serviceId": {"type": "string"}, "consecutiveFailures": {"type": "integer"}, "failingSince": {"type": ["string", "null"]}, "lastStatus": {"type": ["integer", "null"]}, "lastError": {"type": ["string", "null"]}, "reportedAt": {"type": "string"}}}',
   0)
ON CONFLICT ("name") DO NOTHING;
