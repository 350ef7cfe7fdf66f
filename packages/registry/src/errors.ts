import { InputError } from '@fstools/fstree';

/** What went wrong, for callers that react differently (a CLI's exit code, a retry elsewhere). */
export type RegistryErrorKind =
  /** The reference text is not a reference. */
  | 'reference'
  /** --creds, an auth file or a credential helper could not give credentials. */
  | 'credentials'
  /** 401: no credentials, or the registry or token server refused them. */
  | 'unauthorized'
  /** 403: authenticated, but not allowed. */
  | 'denied'
  /** 404 (or a registry's MANIFEST_UNKNOWN / BLOB_UNKNOWN / NAME_UNKNOWN). */
  | 'not-found'
  /** 429 still after every retry. */
  | 'rate-limited'
  /** 5xx still after every retry, or another status the client cannot act on. */
  | 'server'
  /** The connection failed, dropped or stalled more often than the retry limits allow. */
  | 'network'
  /** HTTPS could not be set up (untrusted certificate, a plain-HTTP server, ...). */
  | 'tls'
  /** The registry answered something the distribution API does not allow. */
  | 'protocol'
  /** Bytes that do not match their digest or size. */
  | 'integrity'
  /** A manifest or transport this client does not read (schema 1, credential helpers, ...). */
  | 'unsupported';

/**
 * Every error this package throws for bad input or a failed pull: an InputError (one line,
 * "<reference>: <problem>", control characters escaped) that never carries a password or token.
 */
export class RegistryError extends InputError {
  constructor(
    /** What the error names: the reference (`docker://host/repo:tag`), a file or an option. */
    reference: string,
    readonly kind: RegistryErrorKind,
    problem: string,
    /** The HTTP status, when one caused the error. */
    readonly status?: number,
  ) {
    super(reference, problem);
    this.name = 'RegistryError';
  }
}
