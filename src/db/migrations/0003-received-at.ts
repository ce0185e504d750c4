/**
 * When the webhook received each message. WhatsApp timestamps have whole-second resolution and
 * webhook jobs run in parallel, so a burst's messages share a second and are stored in any order;
 * the arrival time at the webhook keeps the AI's view of the conversation in the customer's order.
 */
export const up = /* sql */ `
ALTER TABLE messages ADD COLUMN received_at timestamptz;
`;
