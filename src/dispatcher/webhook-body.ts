/**
 * The body every delivery carries, pushed (the dispatcher's request body) or pulled (a pull
 * queue notification's body, and its logged attempt): Standard Webhooks' shape, with the payload
 * spliced in as the JSON text it was received as. Ids are digits and the timestamp is ISO 8601:
 * only the type name needs JSON quoting.
 */
export function webhookBody(eventId: string, eventType: string, eventTimestamp: string, payload: string): string {
  return `{"id":"${eventId}","type":${JSON.stringify(eventType)},"timestamp":"${eventTimestamp}","data":${payload}}`;
}
