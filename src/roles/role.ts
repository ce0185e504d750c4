import type { Container } from '../container.js';

/** A role starts its part of Switchboard and returns how to stop it (intake first). */
export type Stop = () => Promise<void>;
export type StartRole = (container: Container, options: { serveHealth: boolean }) => Promise<Stop>;
