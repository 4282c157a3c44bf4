/**
 * The error kinds of the Coordinator's API beyond the general ones in `util/errors/`: each maps to
 * one HTTP status (401, 403, 409, 412, 413, 404) that clients and the Coordinator agree on.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";

/** The request is not authenticated (no or a bad signature). Status 401. */
export class UnauthenticatedError extends ContrastError {}

/** The request is authenticated but not allowed. Status 403. */
export class ForbiddenError extends ContrastError {}

/** The request was based on a state that is no longer current. Status 409. */
export class ConflictError extends ContrastError {}

/** The Coordinator cannot serve this yet: no manifest, or recovery needed. Status 412. */
export class PreconditionFailedError extends ContrastError {}

/** The request body exceeds the limit. Status 413. */
export class PayloadTooLargeError extends ContrastError {}

/** No route for the method and path. Status 404. */
export class NotFoundError extends ContrastError {}
