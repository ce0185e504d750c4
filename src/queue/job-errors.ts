import { UnrecoverableError } from 'bullmq';

/**
 * A failure that retrying cannot fix (bad input, a gateway 4xx): the job fails at once and stays
 * visible with its reason. Anything else a handler throws is retried with backoff.
 */
export class PermanentJobError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}
