/**
 * One reply job per burst instead of one per message. The first message of a burst that needs an
 * answer records its id here, in the same transaction that stores it, and only that message schedules
 * a reply job; later messages of the burst see the mark and schedule nothing. The reply job clears
 * the mark in the transaction that claims the burst, so the next message after the claim arms a new
 * job. Stores and claims serialise on the conversation row, so no message falls between two jobs.
 */
export const up = /* sql */ `
ALTER TABLE conversations ADD COLUMN reply_job_message_id bigint;
`;
