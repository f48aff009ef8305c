-- Hookgate's own event types (README, "Operational events"): published by the gateway to the
-- service that owns the webhook concerned, and to no other. Their ids are negative so that the
-- event types an operator creates are numbered as before (the first is 1); the id sequence is
-- not touched. ON CONFLICT: a store that already holds a type of that name keeps it.
-- InsertData
INSERT INTO "event_types" ("id", "name", "description", "sample_data", "scopes", "json_schema", "json_schema_version")
VALUES
  (-1, 'hookgate.delivery.failed',
   'Hookgate: a delivery to one of your webhooks failed finally (its retry schedule is spent, or the receiver answered 410 Gone). Sent only to the service that owns the webhook; never for a delivery of a hookgate.* event.',
   '{"deliveryId": "1", "eventId": "1", "eventName": "order.created", "webhookId": "1", "url": "https://your-app.com/webhook", "serviceId": "1", "attempts": 5, "lastStatus": 500, "lastError": "HTTP_STATUS: HTTP 500", "failedAt": "2026-01-01T00:00:00.000Z"}',
   '{}',
   '{"type": "object", "required": ["deliveryId", "eventId", "eventName", "webhookId", "url", "serviceId", "attempts", "lastStatus", "lastError", "failedAt"], "properties": {"deliveryId": {"type": "string"}, "eventId": {"type": "string"}, "eventName": {"type": "string"}, "webhookId": {"type": "string"}, "url": {"type": "string"}, "serviceId": {"type": "string"}, "attempts": {"type": "integer"}, "lastStatus": {"type": ["integer", "null"]}, "lastError": {"type": ["string", "null"]}, "failedAt": {"type": "string"}}}',
   0),
  (-2, 'hookgate.webhook.disabled',
   'Hookgate: one of your webhooks was disabled (repeated failures, or the receiver answered 410 Gone); its deliveries wait until it is enabled again. Sent only to the service that owns the webhook.',
   '{"webhookId": "1", "url": "https://your-app.com/webhook", "serviceId": "1", "reason": "disabled after 10 failed delivery attempts in a row", "disabledAt": "2026-01-01T00:00:00.000Z"}',
   '{}',
   '{"type": "object", "required": ["webhookId", "url", "serviceId", "reason", "disabledAt"], "properties": {"webhookId": {"type": "string"}, "url": {"type": "string"}, "serviceId": {"type": "string"}, "reason": {"type": "string"}, "disabledAt": {"type": "string"}}}',
   0)
ON CONFLICT ("name") DO NOTHING;
