import { inspect } from 'node:util';
import { RegistryError } from './errors.js';

/**
 * A username and password. The password is held in a private field: JSON.stringify, console.log
 * and util.inspect show the username and `<redacted>`, never the password.
 */
export class Credentials {
  readonly #password: string;
  constructor(
    readonly username: string,
    password: string,
  ) {
    this.#password = password;
  }
  get password(): string {
    return this.#password;
  }
  /** The `Authorization: Basic` value. */
  basic(): string {
    return `Basic ${Buffer.from(`${this.username}:${this.#password}`, 'utf8').toString('base64')}`;
  }
  toJSON(): { username: string; password: string } {
    return { username: this.username, password: '<redacted>' };
  }
  toString(): string {
    return '[Credentials]';
  }
  [inspect.custom](): string {
    return `Credentials { username: ${JSON.stringify(this.username)}, password: <redacted> }`;
  }
}

/**
 * `USER:PASS` as skopeo's --creds takes it (the first colon splits; the password may hold more).
 * Errors name `source` and never echo the value.
 */
export function parseCreds(text: string, source = '--creds'): Credentials {
  const colon = text.indexOf(':');
  if (colon === -1) throw new RegistryError(source, 'credentials', 'expected USER:PASS (reading a password from the terminal is not supported)');
  const username = text.slice(0, colon);
  if (username === '') throw new RegistryError(source, 'credentials', 'the username is empty');
  return new Credentials(username, text.slice(colon + 1));
}
