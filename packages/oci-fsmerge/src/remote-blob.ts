import type { DockerReference } from '@fstools/registry';

/**
 * How to reach registries, as skopeo's flags say it. Plain data: a worker thread converting a
 * layer makes its own client from it.
 */
export interface RegistryAccess {
  /** false = --tls-verify=false: any certificate, and plain HTTP when HTTPS fails. Default true. */
  tlsVerify?: boolean;
  /** --creds USER[:PASS], for every registry. */
  creds?: string;
  /** --authfile FILE (else REGISTRY_AUTH_FILE, the containers auth.json files, ~/.docker/config.json). */
  authfile?: string;
}

/** A layer blob still in a registry: fetched (and verified by digest and size) as it is read. */
export interface RemoteBlob {
  /** The image as asked for: its repository is where the blob is, and errors name it so. */
  remote: DockerReference;
  digest: string;
  size: number;
  access: RegistryAccess;
}
